// Small pieces every view uses.
import { h, type ComponentChildren } from 'preact';

export const StatusText = ({ status }: { status: string }) =>
  h('span', { class: `status status-${status}` }, status);

export const Section = ({ title, children }: { title: string; children?: ComponentChildren }) =>
  h('section', { 'aria-label': title }, h('h2', null, title), children);

/** A message region: errors are alerts (read at once), others polite status updates. */
export const Message = ({ text, error }: { text: string | undefined; error?: boolean }) =>
  text
    ? h('p', { class: error ? 'error' : 'notice', role: error ? 'alert' : 'status' }, text)
    : null;

export const Loading = ({ error }: { error: string | undefined }) =>
  h(
    'main',
    { id: 'main' },
    error ? h('p', { class: 'error', role: 'alert' }, error) : h('p', null, 'Loading…'),
  );

/** A table with a caption (for screen readers) that scrolls sideways on narrow screens. */
export const Table = ({
  label,
  head,
  children,
}: {
  label: string;
  head: string[];
  children?: ComponentChildren;
}) =>
  h(
    'div',
    { class: 'table-wrap', tabIndex: 0, role: 'region', 'aria-label': label },
    h(
      'table',
      null,
      h('caption', { class: 'visually-hidden' }, label),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          head.map((t) => h('th', { scope: 'col', key: t }, t)),
        ),
      ),
      h('tbody', null, children),
    ),
  );
