import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiFailure, type KeyInfo } from '../api.js';

/** Asks for an API key and checks it with `GET /api/v1/key` before keeping it. */
export function SignIn({ onSignIn }: { onSignIn: (key: string, info: KeyInfo) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const info = await api<KeyInfo>(value, '/api/v1/key');
      onSignIn(value, info);
    } catch (e) {
      setError(
        e instanceof ApiFailure && e.status === 401
          ? 'That API key is not valid.'
          : (e as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  return h(
    'main',
    { id: 'main', class: 'narrow' },
    h('h1', null, 'Sign in'),
    h(
      'form',
      { onSubmit: submit },
      h('label', { for: 'api-key' }, 'API key'),
      h(
        'div',
        { class: 'row' },
        h('input', {
          id: 'api-key',
          name: 'api-key',
          type: 'password',
          autocomplete: 'current-password',
          required: true,
          value,
          'aria-describedby': 'api-key-help',
          onInput: (e: Event) => setValue((e.target as HTMLInputElement).value),
        }),
        h('button', { type: 'submit', disabled: busy }, 'Sign in'),
      ),
    ),
    error && h('p', { class: 'error', role: 'alert' }, error),
    h(
      'p',
      { id: 'api-key-help', class: 'muted' },
      'One of the server.apiKeys of this server. The key stays in this tab (session storage) and is sent only as the Authorization header.',
    ),
  );
}
