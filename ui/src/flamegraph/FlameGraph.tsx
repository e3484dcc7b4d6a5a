import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { formatValue, percent, signedPercent } from '../format';
import { DIMMED, diffColor, frameColor } from './colors';
import { diffChange, pathTo, type Frame, type FrameTree } from './model';

// The flame graph, drawn as SVG: one <g class="frame"> per visible frame (frames narrower than
// half a pixel are left out with their subtrees, so the element count is bounded by the width
// times the depth, whatever the profile's size). Click a frame to zoom into it, click an
// ancestor (or Reset) to zoom out; the search dims every frame whose name does not match.

const ROW = 20;
const CHAR = 7; // average glyph width of the 12px monospace label font
const MIN_WIDTH = 0.5;

interface Props {
  tree: FrameTree;
  unit: string;
  search: string;
  /** optional caption above the graph */
  title?: string;
}

interface Placed {
  f: Frame;
  x: number;
  w: number;
  y: number;
  fill: string;
  match: boolean;
  ancestor: boolean;
}

export function FlameGraph({ tree, unit, search, title }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(1000);
  const [focus, setFocus] = useState<Frame | null>(null);
  const [hover, setHover] = useState<{ f: Frame; x: number; y: number } | null>(null);

  useEffect(() => setFocus(null), [tree]);
  // The tooltip describes the frame under the pointer in the graph as drawn; another profile
  // (a switch of type or range) or another zoom redraws what is under the pointer, so it goes
  // until the pointer moves again (it would show the old frame with the new total's percent).
  // Chromium sends a mousemove without any motion when the layout under a still pointer changes:
  // that one is not "the pointer moves again", so the position at the reset is remembered and a
  // move to the same spot is ignored. A layout effect, not an effect: the reset lands in the same
  // commit as the redraw, so no frame of the new graph is ever painted with the old tooltip.
  const pointer = useRef<{ x: number; y: number } | null>(null);
  const stillAt = useRef<{ x: number; y: number } | null>(null);
  useLayoutEffect(() => {
    stillAt.current = pointer.current;
    setHover(null);
  }, [tree, focus]);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(200, Math.floor(el.clientWidth))));
    ro.observe(el);
    setWidth(Math.max(200, Math.floor(el.clientWidth)));
    return () => ro.disconnect();
  }, []);

  const matcher = useMemo(() => searchMatcher(search), [search]);
  const root = focus ?? tree.root;
  const placed = useMemo(
    () => (root ? layout(root, width, tree, matcher) : []),
    [root, width, tree, matcher],
  );
  const depth = placed.reduce((m, p) => Math.max(m, p.y / ROW + 1), 0);
  const matches = matcher ? placed.filter((p) => p.match && !p.ancestor).length : 0;

  return (
    <div className="flamegraph" data-testid="flamegraph">
      <div className="fg-toolbar">
        {title && <strong>{title}</strong>}
        <nav className="breadcrumbs" aria-label="zoom path" data-root={root?.name ?? ''}>
          {root &&
            pathTo(root).map((f, i, all) => (
              <span key={f.id}>
                <button
                  type="button"
                  className="link"
                  disabled={i === all.length - 1}
                  onClick={() => setFocus(f.level === 0 ? null : f)}
                >
                  {f.name}
                </button>
                {i < all.length - 1 && ' › '}
              </span>
            ))}
        </nav>
        <button type="button" onClick={() => setFocus(null)} disabled={!focus}>
          Reset zoom
        </button>
        {matcher && (
          <span className="muted" data-testid="search-matches">
            {matches} matching frame{matches === 1 ? '' : 's'}
          </span>
        )}
      </div>
      <div ref={box} className="fg-canvas" onMouseLeave={() => setHover(null)}>
        {!tree.root || tree.total === 0 ? (
          <p className="empty">No profiles in this selection.</p>
        ) : (
          <svg
            width={width}
            height={depth * ROW}
            role="img"
            aria-label="flame graph"
            onMouseMove={(e) => {
              pointer.current = { x: e.clientX, y: e.clientY };
              const still = stillAt.current;
              if (still && still.x === e.clientX && still.y === e.clientY) return;
              stillAt.current = null;
              const g = (e.target as Element).closest('[data-id]');
              const id = g ? Number(g.getAttribute('data-id')) : -1;
              const f = id >= 0 ? tree.frames[id] : undefined;
              setHover(f ? { f, x: e.clientX, y: e.clientY } : null);
            }}
            onClick={(e) => {
              const g = (e.target as Element).closest('[data-id]');
              if (!g) return;
              const f = tree.frames[Number(g.getAttribute('data-id'))];
              // the click is where the pointer stays while the zoomed graph is drawn under it
              pointer.current = { x: e.clientX, y: e.clientY };
              stillAt.current = pointer.current;
              setHover(null);
              setFocus(f.level === 0 ? null : f);
            }}
          >
            <Frames placed={placed} />
          </svg>
        )}
        {hover && <Tooltip {...hover} tree={tree} unit={unit} />}
      </div>
    </div>
  );
}

const Frames = memo(function Frames({ placed }: { placed: Placed[] }) {
  return (
    <>
      {placed.map((p) => {
        const chars = Math.floor((p.w - 6) / CHAR);
        const label =
          chars < 2 ? '' : p.f.name.length <= chars ? p.f.name : `${p.f.name.slice(0, chars - 1)}…`;
        return (
          <g
            key={p.f.id}
            className={`frame${p.match ? ' match' : ''}`}
            data-id={p.f.id}
            data-name={p.f.name}
            data-highlighted={p.match ? 'true' : undefined}
            transform={`translate(${p.x},${p.y})`}
          >
            <rect
              width={Math.max(p.w - 0.5, 0.5)}
              height={ROW - 1}
              fill={p.fill}
              stroke={p.match ? '#1d4ed8' : undefined}
              strokeWidth={p.match ? 1.5 : undefined}
            />
            {label && (
              <text x={3} y={ROW - 6}>
                {label}
              </text>
            )}
          </g>
        );
      })}
    </>
  );
});

function layout(
  root: Frame,
  width: number,
  tree: FrameTree,
  matcher: ((name: string) => boolean) | null,
): Placed[] {
  const out: Placed[] = [];
  const scale = root.total > 0 ? width / root.total : 0;
  const color = (f: Frame, match: boolean): string => {
    if (matcher && !match) return DIMMED;
    return tree.diff ? diffColor(f, tree.diff) : frameColor(f);
  };
  // the ancestors of a zoomed-in frame span the whole width, as in Pyroscope
  const chain = pathTo(root);
  chain.slice(0, -1).forEach((f) => {
    const match = matcher ? matcher(f.name) : false;
    out.push({ f, x: 0, w: width, y: f.level * ROW, fill: color(f, match), match, ancestor: true });
  });
  const visit = (f: Frame): void => {
    const w = f.total * scale;
    if (w < MIN_WIDTH) return;
    const match = matcher ? matcher(f.name) : false;
    out.push({
      f,
      x: (f.x - root.x) * scale,
      w,
      y: f.level * ROW,
      fill: color(f, match),
      match,
      ancestor: false,
    });
    f.children.forEach(visit);
  };
  visit(root);
  return out;
}

/** Case-insensitive substring search; /.../ is a regular expression. */
export function searchMatcher(search: string): ((name: string) => boolean) | null {
  const s = search.trim();
  if (!s) return null;
  const re = /^\/(.+)\/([a-z]*)$/.exec(s);
  if (re) {
    try {
      const r = new RegExp(re[1], re[2].includes('i') ? 'i' : '');
      return (name) => r.test(name);
    } catch {
      // not a valid expression: search it literally
    }
  }
  const lower = s.toLowerCase();
  return (name) => name.toLowerCase().includes(lower);
}

function Tooltip({
  f,
  x,
  y,
  tree,
  unit,
}: {
  f: Frame;
  /** the pointer, in viewport coordinates (the tooltip is fixed, so no container clips it) */
  x: number;
  y: number;
  tree: FrameTree;
  unit: string;
}) {
  const left = x + 14 + 360 > window.innerWidth ? Math.max(0, x - 374) : x + 14;
  const top = y + 14 + 110 > window.innerHeight ? Math.max(0, y - 124) : y + 14;
  const total = tree.total;
  return (
    <div className="tooltip" role="tooltip" style={{ left, top }}>
      <div className="tt-name">{f.name}</div>
      {tree.diff && f.left && f.right ? (
        <table>
          <tbody>
            <tr>
              <th></th>
              <th>baseline</th>
              <th>comparison</th>
            </tr>
            <tr>
              <td>self</td>
              <td>
                {formatValue(f.left.self, unit)} ({percent(f.left.self, tree.diff.leftTicks)})
              </td>
              <td>
                {formatValue(f.right.self, unit)} ({percent(f.right.self, tree.diff.rightTicks)})
              </td>
            </tr>
            <tr>
              <td>total</td>
              <td>
                {formatValue(f.left.total, unit)} ({percent(f.left.total, tree.diff.leftTicks)})
              </td>
              <td>
                {formatValue(f.right.total, unit)} ({percent(f.right.total, tree.diff.rightTicks)})
              </td>
            </tr>
            <tr>
              <td>change</td>
              <td colSpan={2}>{signedPercent(diffChange(f, tree.diff))} of total share</td>
            </tr>
          </tbody>
        </table>
      ) : (
        <table>
          <tbody>
            <tr>
              <td>self</td>
              <td>
                {formatValue(f.self, unit)} ({percent(f.self, total)})
              </td>
            </tr>
            <tr>
              <td>total</td>
              <td>
                {formatValue(f.total, unit)} ({percent(f.total, total)})
              </td>
            </tr>
          </tbody>
        </table>
      )}
    </div>
  );
}
