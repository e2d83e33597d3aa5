/**
 * The deterministic data set behind the HubSpot fake: CRM objects generated from a seed, the
 * property definitions the properties API returns, and the per-type naming rules HubSpot has
 * (contacts call their modification date `lastmodifieddate`, every other type
 * `hs_lastmodifieddate`).
 */

/**
 * One stored CRM object. Times are epoch milliseconds; property values are strings like HubSpot's.
 *
 * @example
 * ```ts
 * const first: HubSpotFakeObject = fake.objects('contacts')[0]!;
 * ```
 */
export interface HubSpotFakeObject {
  id: string;
  properties: Record<string, string | null>;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  /** Associated object ids by target object type (`companies`, `contacts`, ...). */
  associations: Record<string, string[]>;
}

/** A property definition as `GET /crm/v3/properties/{objectType}` returns it. */
export interface HubSpotFakeProperty {
  name: string;
  label: string;
  type: 'string' | 'number' | 'datetime' | 'date' | 'enumeration' | 'bool';
  fieldType: string;
  groupName: string;
  description: string;
  options: { label: string; value: string; displayOrder: number; hidden: boolean }[];
  hubspotDefined: boolean;
  hidden: boolean;
  calculated: boolean;
  externalOptions: boolean;
  hasUniqueValue: boolean;
  formField: boolean;
  displayOrder: number;
}

/** Sizes of the generated data set, by object type. */
export interface HubSpotSeedSizes {
  contacts: number;
  companies: number;
  deals: number;
  tickets: number;
  /** Objects of the custom object type `2-1001` (`pets`). */
  custom: number;
}

/**
 * The custom object type id the fake knows (custom objects are addressed by `2-<n>` ids).
 *
 * @example
 * ```ts
 * const pets = await client.crm.objects.basicApi.getPage(HUBSPOT_FAKE_CUSTOM_TYPE, 100);
 * ```
 */
export const HUBSPOT_FAKE_CUSTOM_TYPE = '2-1001';

/** The property holding the last modification time of an object type. */
export function modifiedProperty(objectType: string): string {
  return objectType === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
}

/** The property holding the creation time of an object type. */
export function createdProperty(objectType: string): string {
  return objectType === 'contacts' || objectType === 'companies' || objectType === 'deals'
    ? 'createdate'
    : 'hs_createdate';
}

/** Properties returned when a request names none, as HubSpot documents per object type. */
export function defaultProperties(objectType: string): string[] {
  const common = [createdProperty(objectType), modifiedProperty(objectType), 'hs_object_id'];
  switch (objectType) {
    case 'contacts':
      return ['firstname', 'lastname', 'email', ...common];
    case 'companies':
      return ['name', 'domain', ...common];
    case 'deals':
      return ['dealname', 'amount', 'closedate', 'pipeline', 'dealstage', ...common];
    case 'tickets':
      return [
        'subject',
        'content',
        'hs_pipeline',
        'hs_pipeline_stage',
        'hs_ticket_priority',
        ...common,
      ];
    default:
      return common;
  }
}

/** mulberry32: a tiny, fast, seedable PRNG; the same seed always yields the same data set. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'Ken',
  'Margaret',
  'Niklaus',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Allen',
  'Thompson',
  'Hamilton',
  'Wirth',
];
const STAGES = [
  'appointmentscheduled',
  'qualifiedtobuy',
  'presentationscheduled',
  'closedwon',
  'closedlost',
];
const PRIORITIES = ['LOW', 'MEDIUM', 'HIGH'];
const SPECIES = ['cat', 'dog', 'parrot', 'rabbit'];

/** Epoch ms of 2025-01-01T00:00:00Z: generated objects were created and modified during 2025. */
const BASE = Date.UTC(2025, 0, 1);
const YEAR_MS = 365 * 24 * 3600 * 1000;

const iso = (ms: number) => new Date(ms).toISOString();

function makeObject(
  objectType: string,
  id: number,
  random: () => number,
  specific: Record<string, string | null>,
  modifiedAt?: number,
): HubSpotFakeObject {
  const createdAt = BASE + Math.floor(random() * (YEAR_MS / 2));
  const updatedAt = modifiedAt ?? createdAt + Math.floor(random() * (YEAR_MS / 2));
  return {
    id: String(id),
    properties: {
      ...specific,
      [createdProperty(objectType)]: iso(createdAt),
      [modifiedProperty(objectType)]: iso(updatedAt),
      hs_object_id: String(id),
    },
    createdAt,
    updatedAt,
    archived: false,
    associations: {},
  };
}

/**
 * Generates the data set. Ids are dense per type starting at 1 (contacts from 1, companies
 * from 1, ...). Every 997th contact shares its modification millisecond with the next four,
 * so same-millisecond ties exist from the start.
 */
export function generateObjects(
  seed: number,
  sizes: HubSpotSeedSizes,
): Map<string, HubSpotFakeObject[]> {
  const random = createRandom(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const out = new Map<string, HubSpotFakeObject[]>();

  const companies: HubSpotFakeObject[] = [];
  for (let i = 1; i <= sizes.companies; i++) {
    companies.push(
      makeObject('companies', i, random, {
        name: `Company ${i}`,
        domain: `company${i}.example`,
        industry: pick(['SOFTWARE', 'RETAIL', 'BANKING', 'MEDIA']),
        numberofemployees: String(1 + Math.floor(random() * 5000)),
      }),
    );
  }
  out.set('companies', companies);

  const contacts: HubSpotFakeObject[] = [];
  let tie: number | undefined;
  for (let i = 1; i <= sizes.contacts; i++) {
    if (i % 997 === 0) tie = BASE + YEAR_MS / 2 + Math.floor(random() * (YEAR_MS / 3));
    const first = pick(FIRST);
    const last = pick(LAST);
    const contact = makeObject(
      'contacts',
      i,
      random,
      {
        firstname: first,
        lastname: last,
        email: `${first}.${last}.${i}@example.com`.toLowerCase(),
        lifecyclestage: pick(['subscriber', 'lead', 'customer']),
        hs_lead_status: pick(['NEW', 'OPEN', 'IN_PROGRESS', null]),
      },
      tie,
    );
    if (tie !== undefined && i % 997 === 4) tie = undefined;
    if (companies.length > 0) {
      const company = companies[(i - 1) % companies.length]!;
      contact.associations.companies = [company.id];
      (company.associations.contacts ??= []).push(contact.id);
    }
    contacts.push(contact);
  }
  out.set('contacts', contacts);

  const deals: HubSpotFakeObject[] = [];
  for (let i = 1; i <= sizes.deals; i++) {
    const deal = makeObject('deals', i, random, {
      dealname: `Deal ${i}`,
      amount: String(Math.round(random() * 100_000) / 100),
      dealstage: pick(STAGES),
      pipeline: 'default',
      closedate: iso(BASE + Math.floor(random() * YEAR_MS)),
    });
    if (companies.length > 0)
      deal.associations.companies = [companies[(i - 1) % companies.length]!.id];
    if (contacts.length > 0) deal.associations.contacts = [contacts[(i * 7) % contacts.length]!.id];
    deals.push(deal);
  }
  out.set('deals', deals);

  const tickets: HubSpotFakeObject[] = [];
  for (let i = 1; i <= sizes.tickets; i++) {
    tickets.push(
      makeObject('tickets', i, random, {
        subject: `Ticket ${i}`,
        content: `Something about ticket ${i}`,
        hs_pipeline: '0',
        hs_pipeline_stage: pick(['1', '2', '3', '4']),
        hs_ticket_priority: pick(PRIORITIES),
      }),
    );
  }
  out.set('tickets', tickets);

  const pets: HubSpotFakeObject[] = [];
  for (let i = 1; i <= sizes.custom; i++) {
    pets.push(
      makeObject(HUBSPOT_FAKE_CUSTOM_TYPE, i, random, {
        pet_name: `Pet ${i}`,
        species: pick(SPECIES),
        age: String(Math.floor(random() * 15)),
      }),
    );
  }
  out.set(HUBSPOT_FAKE_CUSTOM_TYPE, pets);
  return out;
}

function property(
  name: string,
  type: HubSpotFakeProperty['type'],
  displayOrder: number,
  options: string[] = [],
): HubSpotFakeProperty {
  const fieldType =
    type === 'number'
      ? 'number'
      : type === 'enumeration'
        ? 'select'
        : type === 'bool'
          ? 'booleancheckbox'
          : type === 'datetime' || type === 'date'
            ? 'date'
            : 'text';
  return {
    name,
    label: name
      .replace(/^hs_/, '')
      .replace(/_/g, ' ')
      .replace(/^./, (c) => c.toUpperCase()),
    type,
    fieldType,
    groupName: 'information',
    description: `The ${name.replace(/_/g, ' ')} of the object.`,
    options: options.map((value, i) => ({ label: value, value, displayOrder: i, hidden: false })),
    hubspotDefined: !name.startsWith('pet_') && name !== 'species' && name !== 'age',
    hidden: false,
    calculated: false,
    externalOptions: false,
    hasUniqueValue: name === 'hs_object_id',
    formField: type === 'string',
    displayOrder,
  };
}

/** The property definitions of one object type (every property the generated objects carry). */
export function propertyDefinitions(objectType: string): HubSpotFakeProperty[] {
  const common = [
    property(createdProperty(objectType), 'datetime', 90),
    property(modifiedProperty(objectType), 'datetime', 91),
    property('hs_object_id', 'number', 92),
  ];
  switch (objectType) {
    case 'contacts':
      return [
        property('firstname', 'string', 1),
        property('lastname', 'string', 2),
        property('email', 'string', 3),
        property('lifecyclestage', 'enumeration', 4, ['subscriber', 'lead', 'customer']),
        property('hs_lead_status', 'enumeration', 5, ['NEW', 'OPEN', 'IN_PROGRESS']),
        ...common,
      ];
    case 'companies':
      return [
        property('name', 'string', 1),
        property('domain', 'string', 2),
        property('industry', 'enumeration', 3, ['SOFTWARE', 'RETAIL', 'BANKING', 'MEDIA']),
        property('numberofemployees', 'number', 4),
        ...common,
      ];
    case 'deals':
      return [
        property('dealname', 'string', 1),
        property('amount', 'number', 2),
        property('dealstage', 'enumeration', 3, STAGES),
        property('pipeline', 'enumeration', 4, ['default']),
        property('closedate', 'datetime', 5),
        ...common,
      ];
    case 'tickets':
      return [
        property('subject', 'string', 1),
        property('content', 'string', 2),
        property('hs_pipeline', 'enumeration', 3, ['0']),
        property('hs_pipeline_stage', 'enumeration', 4, ['1', '2', '3', '4']),
        property('hs_ticket_priority', 'enumeration', 5, PRIORITIES),
        ...common,
      ];
    case HUBSPOT_FAKE_CUSTOM_TYPE:
      return [
        property('pet_name', 'string', 1),
        property('species', 'enumeration', 2, SPECIES),
        property('age', 'number', 3),
        ...common,
      ];
    default:
      return [];
  }
}

/** The object types the fake serves, with the read scope each requires. */
export const OBJECT_SCOPES: Readonly<Record<string, string>> = {
  contacts: 'crm.objects.contacts.read',
  companies: 'crm.objects.companies.read',
  deals: 'crm.objects.deals.read',
  tickets: 'tickets',
  [HUBSPOT_FAKE_CUSTOM_TYPE]: 'crm.objects.custom.read',
};

/** Aliases HubSpot accepts in URLs for the standard types (`0-1` is contacts, ...). */
export const OBJECT_TYPE_IDS: Readonly<Record<string, string>> = {
  '0-1': 'contacts',
  '0-2': 'companies',
  '0-3': 'deals',
  '0-5': 'tickets',
  contact: 'contacts',
  company: 'companies',
  deal: 'deals',
  ticket: 'tickets',
  pets: HUBSPOT_FAKE_CUSTOM_TYPE,
};
