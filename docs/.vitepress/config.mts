import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type DefaultTheme } from 'vitepress';

// The documentation site. `npm run docs:build` renders it, failing on dead links; the generated
// pages (configuration.md, router/destinations.md, api.md: tools/docs/generate.mjs) and the
// package reference (reference/: TypeDoc) are produced first.

const docs = dirname(dirname(fileURLToPath(import.meta.url)));

/** Sidebar entries of one folder's guide pages that exist, in the given order, then any others. */
function pagesOf(folder: string, titles: Record<string, string>): DefaultTheme.SidebarItem[] {
  const dir = join(docs, folder);
  const present = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.md') && f !== 'index.md')
        .map((f) => f.slice(0, -3))
    : [];
  const ordered = [
    ...Object.keys(titles).filter((name) => present.includes(name)),
    ...present.filter((name) => !(name in titles)).sort(),
  ];
  return ordered.map((name) => ({ text: titles[name] ?? name, link: `/${folder}/${name}` }));
}

/** One entry per package of the TypeDoc reference, once it has been generated. */
function referenceItems(): DefaultTheme.SidebarItem[] {
  const scope = join(docs, 'reference', '@sluice');
  if (!existsSync(scope)) return [];
  return readdirSync(scope)
    .filter((name) => existsSync(join(scope, name, 'index.md')))
    .sort()
    .map((name) => ({ text: `@sluice/${name}`, link: `/reference/@sluice/${name}/` }));
}

/** A sidebar group, left out while none of its pages exist yet. */
function group(text: string, items: DefaultTheme.SidebarItem[]): DefaultTheme.SidebarItem[] {
  return items.length > 0 ? [{ text, items }] : [];
}

/** Where files outside docs/ (examples, package sources) are browsed. */
const REPOSITORY = 'https://github.com/sluice-dev/sluice';

/**
 * A link from `page` (a path under docs/) that leaves the docs folder points at a repository
 * file, not a page: its GitHub URL, else `undefined`.
 */
function repositoryUrl(href: string, page: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:|^#|^\//i.test(href)) return undefined;
  const [path = '', hash = ''] = href.split('#');
  const target = posix.normalize(posix.join('docs', posix.dirname(page), path));
  if (target.startsWith('docs/') || target.startsWith('../')) return undefined;
  const kind =
    existsSync(join(docs, '..', target)) && !/\.[a-z0-9]+$/i.test(target) ? 'tree' : 'blob';
  return `${REPOSITORY}/${kind}/main/${target}${hash ? `#${hash}` : ''}`;
}

const has = (page: string) => existsSync(join(docs, `${page}.md`));

export default defineConfig({
  title: 'Sluice',
  description:
    'Pull marketing and analytics data, route every record by rules, deliver it anywhere.',
  cleanUrls: true,
  lastUpdated: false,
  srcExclude: ['**/README.md'],
  markdown: {
    theme: { light: 'github-light', dark: 'github-dark' },
    config(md) {
      // Links to repository files outside docs/ (examples/, packages/) become GitHub links, so
      // they work on the site and every remaining relative link is checked as a page.
      const linkOpen =
        md.renderer.rules.link_open ??
        ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
      md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
        const token = tokens[idx]!;
        const href = token.attrGet('href');
        const url =
          href && typeof env?.relativePath === 'string'
            ? repositoryUrl(href, env.relativePath)
            : undefined;
        if (url) token.attrSet('href', url);
        return linkOpen(tokens, idx, options, env, self);
      };
      // Inline code often shows Liquid templates (`{{ record.date }}`): keep Vue away from it, as
      // VitePress already does for fenced code blocks.
      const inlineCode = md.renderer.rules.code_inline!;
      md.renderer.rules.code_inline = (tokens, idx, options, env, self) =>
        inlineCode(tokens, idx, options, env, self).replace(/^<code/, '<code v-pre');
      // The TypeDoc reference quotes code and Liquid templates (`{{ record.date }}`) in prose and
      // signatures: render those pages verbatim so Vue does not compile them as interpolations.
      const render = md.render.bind(md);
      md.render = (src, env) => {
        const html = render(src, env);
        return typeof env?.relativePath === 'string' && env.relativePath.startsWith('reference/')
          ? `<div v-pre>${html}</div>`
          : html;
      };
    },
  },
  themeConfig: {
    search: {
      provider: 'local',
      options: {
        // The TypeDoc reference (thousands of signatures) would triple the index every visitor
        // downloads; it is reached through the sidebar and the package pages instead.
        _render(src, env, md) {
          if (env.relativePath.startsWith('reference/')) return '';
          const html = md.render(src, env);
          return env.frontmatter?.search === false ? '' : html;
        },
      },
    },
    outline: { level: [2, 3] },
    socialLinks: [{ icon: 'github', link: REPOSITORY }],
    nav: [
      { text: 'Guide', link: '/architecture' },
      { text: 'Configuration', link: '/configuration' },
      ...(has('api') ? [{ text: 'API', link: '/api' }] : []),
      { text: 'Reference', link: '/reference/' },
    ],
    sidebar: [
      {
        text: 'Introduction',
        items: [
          { text: 'Architecture', link: '/architecture' },
          { text: 'Deployment', link: '/deployment' },
          { text: 'Security', link: '/security' },
          { text: 'Troubleshooting', link: '/troubleshooting' },
        ],
      },
      {
        text: 'Configuration',
        items: [
          { text: 'Guide', link: '/configuration-guide' },
          { text: 'Every key (generated)', link: '/configuration' },
        ],
      },
      {
        text: 'Router',
        items: [
          ...pagesOf('router', {
            rules: 'Rules',
            conditions: 'Conditions',
            'field-paths': 'Field paths',
            transforms: 'Transforms',
            delivery: 'Delivery',
          }).filter((item) => item.link !== '/router/destinations'),
          {
            text: 'Destinations',
            link: '/router/destinations',
            collapsed: true,
            items: pagesOf('router/destinations', {}),
          },
        ],
      },
      ...group(
        'Connectors',
        pagesOf('connectors', {
          bigquery: 'BigQuery',
          ga4: 'Google Analytics 4',
          hubspot: 'HubSpot',
          'writing-a-plugin': 'Writing a plugin',
        }),
      ),
      ...group(
        'Scheduler',
        pagesOf('scheduler', {
          triggers: 'Triggers',
          'missed-runs': 'Missed runs',
          webhooks: 'Webhooks',
          'delivery-and-scaling': 'Delivery and scaling',
        }),
      ),
      ...group('Server', pagesOf('server', { dashboard: 'Dashboard' })),
      ...(has('store') ? [{ text: 'Store', link: '/store' }] : []),
      ...(has('api') ? [{ text: 'REST API (generated)', link: '/api' }] : []),
      {
        text: 'Package reference (TypeDoc)',
        link: '/reference/',
        collapsed: true,
        items: referenceItems(),
      },
    ],
  },
});
