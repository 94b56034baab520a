// The job graph as a DAG: dagre lays it out (left to right), we draw it as SVG. Each vertex
// shows its name, parallelism and live metrics, and is coloured by back pressure as Flink's
// dashboard does; each edge is labelled with its partitioning (HASH, FORWARD, REBALANCE).
import dagre from '@dagrejs/dagre';
import { html } from 'htm/preact';
import { useMemo } from 'preact/hooks';
import { formatCount, formatPercent, formatWatermark } from './api.js';

const NODE_W = 250;
const NODE_H = 118;

/** Back pressure level of a ratio of time back-pressured (Flink's thresholds). */
export function backPressureLevel(ratio) {
  if (ratio === undefined || ratio === null) return 'unknown';
  if (ratio > 0.5) return 'high';
  if (ratio > 0.1) return 'low';
  return 'ok';
}

/** The plan's edges: one per input of a node, {key, source, target, ship}. */
export function planEdges(plan) {
  const edges = [];
  for (const node of plan.nodes || []) {
    for (const input of node.inputs || []) {
      edges.push({ key: `${input.id}->${node.id}#${input.num}`, source: input.id, target: node.id, ship: input.ship_strategy });
    }
  }
  return edges;
}

function layout(plan) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 36, ranksep: 110, edgesep: 20, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of plan.nodes || []) g.setNode(node.id, { width: NODE_W, height: NODE_H });
  const edges = planEdges(plan);
  for (const e of edges) g.setEdge(e.source, e.target, { width: 90, height: 18, labelpos: 'c' }, e.key);
  dagre.layout(g);
  const nodes = (plan.nodes || []).map((n) => ({ ...g.node(n.id), plan: n }));
  const laid = edges.map((e) => ({ ...e, ...g.edge({ v: e.source, w: e.target, name: e.key }) }));
  const { width, height } = g.graph();
  return { nodes, edges: laid, width: Math.max(width || 0, NODE_W), height: Math.max(height || 0, NODE_H) };
}

function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function path(points) {
  return points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
}

/**
 * The job graph of `plan` with `metrics` per vertex id ({inRate, outRate, busy, backPressured,
 * idle, watermark}); `selected` is highlighted and `onSelect(id)` is called on click or Enter.
 */
export function JobGraph({ plan, metrics, selected, onSelect }) {
  const key = JSON.stringify(plan.nodes || []);
  const laid = useMemo(() => layout(plan), [key]);
  const onKey = (id) => (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      onSelect(id);
    }
  };
  return html`
    <div class="graph-scroll">
      <svg class="job-graph" width=${laid.width} height=${laid.height} viewBox="0 0 ${laid.width} ${laid.height}"
           role="group" aria-label="Job graph: ${laid.nodes.length} vertices, ${laid.edges.length} edges">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="#4b5563" />
          </marker>
        </defs>
        ${laid.edges.map((e) => html`
          <g class="edge" key=${e.key} data-edge=${e.key} data-ship=${e.ship}>
            <path d=${path(e.points || [])} marker-end="url(#arrow)" />
            <text x=${e.x} y=${e.y + 4} text-anchor="middle">${e.ship}</text>
          </g>`)}
        ${laid.nodes.map((n) => {
          const m = metrics[n.plan.id] || {};
          const level = backPressureLevel(m.backPressured);
          const x = n.x - NODE_W / 2;
          const y = n.y - NODE_H / 2;
          const name = n.plan.description || n.plan.id;
          return html`
            <g class="vertex bp-${level} ${selected === n.plan.id ? 'selected' : ''}" key=${n.plan.id}
               data-vertex-id=${n.plan.id} transform="translate(${x},${y})" tabindex="0" role="button"
               aria-pressed=${selected === n.plan.id ? 'true' : 'false'}
               onClick=${() => onSelect(n.plan.id)} onKeyDown=${onKey(n.plan.id)}>
              <title>${name}</title>
              <rect width=${NODE_W} height=${NODE_H} rx="6" />
              <text class="name" x="10" y="20">${truncate(name, 28)}</text>
              <text x="10" y="40">Parallelism: ${n.plan.parallelism}</text>
              <text x="10" y="58" class="rate-in">In: ${formatCount(m.inRate)} rec/s</text>
              <text x="130" y="58" class="rate-out">Out: ${formatCount(m.outRate)} rec/s</text>
              <text x="10" y="76">Busy ${formatPercent(m.busy)} · Back-pressured ${formatPercent(m.backPressured)}</text>
              <text x="10" y="94">Idle ${formatPercent(m.idle)}</text>
              <text x="10" y="111" class="watermark">Watermark: ${formatWatermark(m.watermark)}</text>
            </g>`;
        })}
      </svg>
    </div>
    <p class="legend">Back pressure:
      <span class="chip bp-ok">OK (≤ 10%)</span> <span class="chip bp-low">Low (≤ 50%)</span>
      <span class="chip bp-high">High (> 50%)</span> — the highest over the vertex's subtasks.</p>`;
}
