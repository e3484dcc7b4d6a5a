import { useEffect, useRef, useState } from 'react';
import { dateTime, formatValue } from '../format';

// The total over time (SelectSeries) as an area chart; dragging across it selects a time range
// (onSelect), which the caller turns into the query range or a diff side.

export interface Point {
  t: number;
  v: number;
}

export interface Band {
  from: number;
  until: number;
  color: string;
  label: string;
}

const H = 84;
const PAD = 18;

export function Timeline({
  points,
  from,
  until,
  stepMs,
  unit,
  bands = [],
  onSelect,
  testId,
}: {
  points: Point[];
  from: number;
  until: number;
  /** the width of one point (SelectSeries' step) */
  stepMs: number;
  unit: string;
  bands?: Band[];
  onSelect: (from: number, until: number) => void;
  testId?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(1000);
  const [drag, setDrag] = useState<{ x0: number; x1: number } | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(200, Math.floor(el.clientWidth))));
    ro.observe(el);
    setWidth(Math.max(200, Math.floor(el.clientWidth)));
    return () => ro.disconnect();
  }, []);

  const span = Math.max(1, until - from);
  const xOf = (t: number): number => ((t - from) / span) * width;
  const tOf = (x: number): number => from + (Math.min(Math.max(x, 0), width) / width) * span;
  const max = points.reduce((m, p) => Math.max(m, p.v), 0);
  const yOf = (v: number): number => H - PAD - (max > 0 ? (v / max) * (H - PAD - 6) : 0);
  const sorted = [...points].sort((a, b) => a.t - b.t);
  // one bar per step: agents upload every 10-60 s, so the points are sparse and a line between
  // them would invent data where there is none
  const barWidth = Math.max(2, (stepMs / span) * width - 1);
  const bars = sorted.map((p) => ({ x: xOf(p.t) - barWidth / 2, y: yOf(p.v), t: p.t }));
  const ticks = Array.from({ length: 5 }, (_, i) => from + (span * i) / 4);
  const localX = (clientX: number): number =>
    clientX - (box.current?.getBoundingClientRect().left ?? 0);

  return (
    <div ref={box} className="timeline" data-testid={testId ?? 'timeline'}>
      {/* above the chart, not in it: inside, the label sat on the last bars */}
      <div className="timeline-max" data-testid="timeline-max">
        {max > 0 ? `max ${formatValue(max, unit)}` : '\u00a0'}
      </div>
      <svg
        width={width}
        height={H}
        onPointerDown={(e) => {
          (e.target as Element).setPointerCapture?.(e.pointerId);
          const x = localX(e.clientX);
          setDrag({ x0: x, x1: x });
        }}
        onPointerMove={(e) => drag && setDrag({ ...drag, x1: localX(e.clientX) })}
        onPointerUp={(e) => {
          if (!drag) return;
          const x1 = localX(e.clientX);
          setDrag(null);
          if (Math.abs(x1 - drag.x0) < 4) return;
          const a = tOf(Math.min(drag.x0, x1));
          const b = tOf(Math.max(drag.x0, x1));
          onSelect(Math.round(a), Math.round(b));
        }}
      >
        {bands.map((b) => (
          <g key={b.label}>
            <rect
              x={xOf(b.from)}
              y={0}
              width={Math.max(1, xOf(b.until) - xOf(b.from))}
              height={H - PAD}
              fill={b.color}
              opacity={0.18}
            />
            <text x={xOf(b.from) + 3} y={11} className="band-label" fill={b.color}>
              {b.label}
            </text>
          </g>
        ))}
        <g className="bars">
          {bars.map((b) => (
            <rect key={b.t} x={b.x} y={b.y} width={barWidth} height={H - PAD - b.y} />
          ))}
        </g>
        <line x1={0} x2={width} y1={H - PAD} y2={H - PAD} className="axis" />
        {ticks.map((t, i) => (
          <text
            key={t}
            x={xOf(t)}
            y={H - 4}
            className="tick"
            textAnchor={i === 0 ? 'start' : i === ticks.length - 1 ? 'end' : 'middle'}
          >
            {dateTime(t).slice(5, 16)}
          </text>
        ))}
        {drag && (
          <rect
            className="drag"
            x={Math.min(drag.x0, drag.x1)}
            y={0}
            width={Math.abs(drag.x1 - drag.x0)}
            height={H - PAD}
          />
        )}
      </svg>
    </div>
  );
}

/** One series of points from SelectSeries' answer (several series, e.g. grouped, are summed). */
export function sumSeries(
  series: { points?: { value: number; timestamp: string | number }[] }[],
): Point[] {
  const m = new Map<number, number>();
  for (const s of series)
    for (const p of s.points ?? []) {
      const t = Number(p.timestamp);
      m.set(t, (m.get(t) ?? 0) + Number(p.value));
    }
  return [...m.entries()].map(([t, v]) => ({ t, v }));
}
