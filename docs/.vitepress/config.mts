import { defineConfig } from 'vitepress';

// The documentation site. `npm run docs:build` renders it (and fails on dead links);
// generated pages (configuration.md, api.md, reference/) are produced first by tools/.
export default defineConfig({
  title: 'Sluice',
  description: 'Pull marketing and analytics data, route every record by rules, deliver it anywhere.',
  cleanUrls: true,
  srcExclude: ['**/README.md'],
  ignoreDeadLinks: [/^\.\.\//],
  themeConfig: {
    nav: [
      { text: 'Guide', link: '/architecture' },
      { text: 'Configuration', link: '/configuration' },
      { text: 'API', link: '/api' },
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
          { text: 'Rules', link: '/router/rules' },
          { text: 'Conditions', link: '/router/conditions' },
          { text: 'Transforms', link: '/router/transforms' },
          { text: 'Delivery', link: '/router/delivery' },
          { text: 'Destinations', link: '/router/destinations' },
        ],
      },
      {
        text: 'Connectors',
        items: [
          { text: 'BigQuery', link: '/connectors/bigquery' },
          { text: 'Google Analytics 4', link: '/connectors/ga4' },
          { text: 'HubSpot', link: '/connectors/hubspot' },
          { text: 'Writing a plugin', link: '/connectors/writing-a-plugin' },
        ],
      },
      {
        text: 'Scheduler',
        items: [
          { text: 'Triggers', link: '/scheduler/triggers' },
          { text: 'Missed runs', link: '/scheduler/missed-runs' },
          { text: 'Webhooks', link: '/scheduler/webhooks' },
          { text: 'Delivery and scaling', link: '/scheduler/delivery-and-scaling' },
        ],
      },
      { text: 'Store', link: '/store' },
      { text: 'REST API (generated)', link: '/api' },
      { text: 'Package reference (TypeDoc)', link: '/reference/' },
    ],
  },
});
