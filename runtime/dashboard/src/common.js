// Pieces every page uses: tables, tab bars, state badges, the refresh status line.
import { html } from 'htm/preact';

/** A link in the dashboard (hash routing: #/path). */
export function href(path) {
  return `#${path}`;
}

export function StateBadge({ state }) {
  const s = (state || 'UNKNOWN').toUpperCase();
  return html`<span class="badge state-${s.toLowerCase()}">${s}</span>`;
}

/** A table with a caption and column headers; `rows` are arrays of cells (or {key, cells}). */
export function Table({ caption, columns, rows, empty = 'None', id }) {
  return html`
    <div class="table-scroll">
      <table id=${id}>
        <caption>${caption}</caption>
        <thead><tr>${columns.map((c) => html`<th scope="col" key=${c}>${c}</th>`)}</tr></thead>
        <tbody>
          ${rows.length === 0
            ? html`<tr><td colspan=${columns.length} class="empty">${empty}</td></tr>`
            : rows.map((r, i) => {
              const cells = Array.isArray(r) ? r : r.cells;
              return html`<tr key=${Array.isArray(r) ? i : r.key} class=${r.className || ''}>
                ${cells.map((c, k) => (k === 0 ? html`<th scope="row" key=${k}>${c}</th>` : html`<td key=${k}>${c}</td>`))}
              </tr>`;
            })}
        </tbody>
      </table>
    </div>`;
}

/** Key/value pairs as a definition list. */
export function Facts({ items }) {
  return html`<dl class="facts">${items.map(([k, v]) => html`<div key=${k}><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
}

/** A bar of tabs: links to `#<base>/<tab>`, the current one marked for screen readers. */
export function Tabs({ base, tabs, current, label }) {
  return html`
    <nav class="tabs" aria-label=${label}>
      <ul>
        ${tabs.map(([id, title]) => html`
          <li key=${id}><a href=${href(`${base}/${id}`)} aria-current=${current === id ? 'page' : undefined}
                           class=${current === id ? 'active' : ''}>${title}</a></li>`)}
      </ul>
    </nav>`;
}

/** What a page says while its first answer is on its way, or when a refresh failed. */
export function Status({ poll, what }) {
  if (poll.error) return html`<p class="error" role="alert">Could not load ${what}: ${poll.error}</p>`;
  if (!poll.data) return html`<p class="loading">Loading ${what}…</p>`;
  return null;
}

/** Text served by a log endpoint, in a scrollable, focusable block. */
export function LogText({ poll, label }) {
  if (!poll.data && poll.error) return html`<p class="error" role="alert">${label}: ${poll.error}</p>`;
  if (poll.data === null) return html`<p class="loading">Loading ${label}…</p>`;
  return html`<pre class="log" tabindex="0" aria-label=${label}>${poll.data || '(empty)'}</pre>`;
}
