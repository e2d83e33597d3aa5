// The Sluice dashboard: a small Preact app over the REST API (docs/api.md, docs/server/dashboard.md).
// The API key is kept in sessionStorage and sent as `Authorization: Bearer`, never in a URL; views
// are chosen by the location hash (#/, #/runs/<id>, ...), which never carries the key.
import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, hashPath, hashQuery, type KeyInfo } from './api.js';
import { Loading } from './components.js';
import { DeadLetters } from './views/dead-letters.js';
import { DryRun } from './views/dry-run.js';
import { Overview } from './views/overview.js';
import { PipelineView } from './views/pipeline.js';
import { RunView } from './views/run.js';
import { SignIn } from './views/sign-in.js';

const KEY_STORAGE = 'sluice.apiKey';

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

function App() {
  const [apiKey, setApiKey] = useState<string | null>(() => sessionStorage.getItem(KEY_STORAGE));
  const [keyInfo, setKeyInfo] = useState<KeyInfo | undefined>();
  const [error, setError] = useState<string | undefined>();
  const hash = useHash();
  const signOut = () => {
    sessionStorage.removeItem(KEY_STORAGE);
    setApiKey(null);
    setKeyInfo(undefined);
  };
  // A key kept from earlier in this tab: ask the API what it may do (it may have been revoked).
  useEffect(() => {
    if (!apiKey || keyInfo) return;
    api<KeyInfo>(apiKey, '/api/v1/key').then(setKeyInfo, (e: unknown) => {
      if (e instanceof ApiFailure && e.status === 401) signOut();
      else setError((e as Error).message);
    });
  }, [apiKey, keyInfo]);
  const path = hashPath(hash);
  const run = /^\/runs\/([0-9a-f-]{36})$/i.exec(path);
  const pipeline = /^\/pipelines\/([^/]+)$/.exec(path);
  const signedIn = apiKey && keyInfo;
  let view;
  if (!apiKey)
    view = h(SignIn, {
      onSignIn: (key: string, info: KeyInfo) => {
        sessionStorage.setItem(KEY_STORAGE, key);
        setApiKey(key);
        setKeyInfo(info);
      },
    });
  else if (!keyInfo) view = h(Loading, { error });
  else if (run) view = h(RunView, { apiKey, keyInfo, id: run[1]! });
  else if (pipeline)
    view = h(PipelineView, { apiKey, keyInfo, name: decodeURIComponent(pipeline[1]!) });
  else if (path === '/dry-run') view = h(DryRun, { apiKey });
  else if (path === '/dead-letters')
    view = h(DeadLetters, { apiKey, keyInfo, query: hashQuery(hash) });
  else view = h(Overview, { apiKey, keyInfo });
  return h(
    'div',
    { class: 'app' },
    h('a', { class: 'skip', href: '#main', onClick: skipToMain }, 'Skip to content'),
    h(
      'header',
      null,
      h('span', { class: 'brand' }, 'Sluice'),
      signedIn &&
        h(
          'nav',
          { 'aria-label': 'Main' },
          h('a', { href: '#/', 'aria-current': path === '/' ? 'page' : undefined }, 'Overview'),
          h(
            'a',
            {
              href: '#/dead-letters',
              'aria-current': path === '/dead-letters' ? 'page' : undefined,
            },
            'Dead letters',
          ),
          h(
            'a',
            { href: '#/dry-run', 'aria-current': path === '/dry-run' ? 'page' : undefined },
            'Dry run',
          ),
        ),
      signedIn &&
        h(
          'span',
          { class: 'who' },
          h('span', { class: 'muted' }, `${keyInfo.name} (${keyInfo.scopes.join(', ')})`),
          h('button', { type: 'button', class: 'secondary', onClick: signOut }, 'Sign out'),
        ),
    ),
    view,
  );
}

/** The skip link moves focus without touching the hash, which chooses the view. */
function skipToMain(event: Event) {
  event.preventDefault();
  const main = document.getElementById('main');
  if (main) {
    main.setAttribute('tabindex', '-1');
    main.focus();
  }
}

render(h(App, null), document.getElementById('app')!);
