import { resolve } from 'node:path';
import {
  configOrThrow,
  findReferences,
  type SecretReference,
  type SluiceConfig,
} from '@sluice/config';
import type {
  JsonObject,
  PluginContext,
  PluginRegistry,
  SluiceStore,
  VersionedConfigStore,
} from '@sluice/core';
import { validateServerConfig } from './validation.js';

/** The config sections the store versions; everything else comes from the file only. */
export const VERSIONED_SECTIONS = ['connections', 'destinations', 'pipelines'] as const;
export type VersionedSection = (typeof VERSIONED_SECTIONS)[number];

/** The raw (unresolved: secrets still `${env:..}` references) configuration document. */
export type RawConfig = Record<string, unknown>;

/** The effective configuration at one moment, with where each versioned entity stands. */
export interface EffectiveConfig {
  /** Validated, secrets resolved, defaults applied. */
  config: SluiceConfig;
  /** The same document before resolution, as stored. */
  raw: RawConfig;
  /** Latest stored version of each pipeline. */
  pipelineVersions: Record<string, number>;
}

function section(store: SluiceStore, name: VersionedSection): VersionedConfigStore {
  return store[name];
}

/**
 * Owns the one rule between the file and the store (docs/configuration-guide.md, "The file and
 * the store"):
 *
 * 1. At start and on reload the file is the source of truth: every connection, destination and
 *    pipeline it declares is saved as a new version where it differs from the latest stored one,
 *    its pipelines are enabled (the file's `enabled:` decides), and whatever the store holds that
 *    the file does not declare is retired (pipelines disabled, connections and destinations
 *    removed; versions kept) and listed in a start-up warning.
 * 2. Between starts the API edits the store: each change is validated against the whole
 *    configuration first and saved as a later version; it lasts until the next start or reload,
 *    where (1) applies again.
 * 3. The effective configuration is the file's top-level settings (store, server, logging,
 *    plugins) plus the latest stored version of every entity not removed, except disabled
 *    pipelines the file does not declare.
 */
export class ConfigState {
  #current: EffectiveConfig | undefined;
  #fileReferences: ReadonlySet<string> | undefined;

  constructor(
    private readonly options: {
      store: SluiceStore;
      registry: PluginRegistry;
      env: Readonly<Record<string, string | undefined>>;
      baseDir: string;
      /** The file's document; its versioned sections seed the store. */
      file: RawConfig;
      /** Context route tables compile with while validating. */
      ctx?: PluginContext;
    },
  ) {}

  /** The effective configuration (call {@link refresh} first). */
  get current(): EffectiveConfig {
    if (!this.#current) throw new Error('ConfigState: refresh() has not run');
    return this.#current;
  }

  /** Replaces the file document (on reload) without touching the store yet. */
  setFile(file: RawConfig): void {
    this.options.file = file;
    this.#fileReferences = undefined;
  }

  /**
   * The secret references in data sent through the API (`value`, a request body) that the
   * request may not use. Nothing sent through the API may make the server read a secret it does
   * not already use: a key without `admin` scope may use no reference at all, an `admin` key only
   * `${env:NAME}` / `${file:path}` references that the configuration file itself uses (a file
   * path compared after resolving it against the file's folder). References in object keys, of
   * unknown schemes and malformed ones (`${env:${env:A}}`) are always refused. Nothing is
   * resolved or read here.
   *
   * @example
   * ```ts
   * const refused = state.refusedReferences(request.body, isAdmin);
   * if (refused.length > 0) throw secretReferencesRefused(refused, ['body'], isAdmin);
   * ```
   */
  refusedReferences(value: unknown, admin: boolean): SecretReference[] {
    const found = findReferences(value);
    if (!admin) return found;
    const known = this.fileReferences();
    return found.filter((reference) => {
      const id = this.referenceId(reference);
      return reference.inKey || id === undefined || !known.has(id);
    });
  }

  /** The secrets the file uses, as `env:NAME` and `file:/absolute/path`. */
  private fileReferences(): ReadonlySet<string> {
    if (!this.#fileReferences) {
      const ids = new Set<string>();
      for (const reference of findReferences(this.options.file)) {
        const id = reference.inKey ? undefined : this.referenceId(reference);
        if (id !== undefined) ids.add(id);
      }
      this.#fileReferences = ids;
    }
    return this.#fileReferences;
  }

  /** What a reference reads (one id for every spelling of a file's path); other schemes read nothing. */
  private referenceId(reference: SecretReference): string | undefined {
    if (reference.scheme === 'file')
      return `file:${resolve(this.options.baseDir, reference.target)}`;
    return reference.scheme === 'env' ? `env:${reference.target}` : undefined;
  }

  /**
   * Validates a raw document as the effective configuration would be, with the one validation
   * pipeline (`validateServerConfig`): structure, plugins, secrets policy, references, plugin
   * sections, route tables, scheduling. Throws a `ConfigError` listing every problem.
   */
  async validate(raw: RawConfig): Promise<SluiceConfig> {
    const result = await validateServerConfig(raw, {
      registry: this.options.registry,
      env: this.options.env,
      baseDir: this.options.baseDir,
      ...(this.options.ctx ? { ctx: this.options.ctx } : {}),
    });
    return configOrThrow(result);
  }

  /**
   * Makes the store agree with the file, which is the source of truth at start and on reload:
   * every connection, destination and pipeline the file declares is saved as a new version where
   * it differs from the latest stored one, and its pipelines are enabled (the file's own
   * `enabled:` decides whether they run); what the store holds that the file does not declare is
   * retired — pipelines disabled (kept, with their versions, for run history and the API),
   * connections and destinations removed (their versions stay) — so it neither runs nor keeps
   * the file from starting. The caller logs `retired` as a warning.
   */
  async seed(): Promise<{ changed: string[]; retired: string[] }> {
    const changed: string[] = [];
    const retired: string[] = [];
    await this.validate(this.options.file);
    for (const name of VERSIONED_SECTIONS) {
      const store = section(this.options.store, name);
      const entries = (this.options.file[name] ?? {}) as Record<string, JsonObject>;
      for (const [entity, value] of Object.entries(entries)) {
        const saved = await store.save(entity, value);
        if (saved.changed) changed.push(`${name}.${entity}@${saved.version}`);
        if (name === 'pipelines' && (await store.getEntry(entity))?.enabled === false)
          await store.setEnabled(entity, true);
      }
      for (const entry of await store.list()) {
        if (Object.hasOwn(entries, entry.name)) continue;
        if (name === 'pipelines') {
          if (!entry.enabled) continue;
          await store.setEnabled(entry.name, false);
        } else {
          await store.remove(entry.name);
        }
        retired.push(`${name}.${entry.name}`);
      }
    }
    return { changed, retired };
  }

  /**
   * Validates the configuration with pipeline `name` enabled or disabled (enabling a pipeline the
   * file does not declare puts it back into the running configuration, where it must be valid).
   */
  async checkEnabled(name: string, enabled: boolean): Promise<void> {
    const { raw } = await this.assemble({ enabled: { name, value: enabled } });
    await this.validate(raw);
  }

  /** Rebuilds the effective configuration from the file and the store. */
  async refresh(): Promise<EffectiveConfig> {
    const raw = await this.assemble();
    const config = await this.validate(raw.raw);
    this.#current = { config, raw: raw.raw, pipelineVersions: raw.pipelineVersions };
    return this.#current;
  }

  /**
   * Validates the configuration that a change would produce (`value` undefined = removal),
   * throwing a `ConfigError` whose paths name the offending keys, without saving anything.
   */
  async check(
    name: VersionedSection,
    entity: string,
    value: JsonObject | undefined,
  ): Promise<void> {
    const { raw } = await this.assemble();
    const sectionValue = { ...((raw[name] ?? {}) as Record<string, unknown>) };
    if (value === undefined) delete sectionValue[entity];
    else sectionValue[entity] = value;
    await this.validate({ ...raw, [name]: sectionValue });
  }

  /**
   * The effective document: the file's top-level settings, plus the latest stored version of every
   * connection, destination and pipeline not removed. A disabled pipeline is in it (with
   * `enabled: false`) when the file declares it; a disabled pipeline the file does not declare
   * (retired at start, or disabled after the API created it) is not part of the running
   * configuration at all, so an old pipeline cannot keep a new file from starting.
   */
  private async assemble(
    override: { enabled?: { name: string; value: boolean } } = {},
  ): Promise<{ raw: RawConfig; pipelineVersions: Record<string, number> }> {
    const raw: RawConfig = { ...this.options.file };
    const pipelineVersions: Record<string, number> = {};
    const declared = (this.options.file.pipelines ?? {}) as Record<string, unknown>;
    for (const name of VERSIONED_SECTIONS) {
      const store = section(this.options.store, name);
      const entries: Record<string, JsonObject> = {};
      for (const entry of await store.list()) {
        const latest = await store.getVersion(entry.name, entry.latestVersion);
        if (!latest) continue;
        const value = { ...latest.config };
        if (name === 'pipelines') {
          const enabled =
            override.enabled?.name === entry.name ? override.enabled.value : entry.enabled;
          if (!enabled && !Object.hasOwn(declared, entry.name)) continue;
          pipelineVersions[entry.name] = entry.latestVersion;
          if (!enabled) value.enabled = false;
        }
        entries[entry.name] = value;
      }
      raw[name] = entries;
    }
    return { raw, pipelineVersions };
  }
}
