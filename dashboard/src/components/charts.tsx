// Two small charts, enough for the overview and usage pages; no chart library.
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Series {
  name: string;
  values: number[];
  kind: 'primary' | 'danger';
}

/**
 * Lines over a shared x axis (equal spacing), with the y maximum labelled. The SVG is drawn at the
 * width it is shown at (ResizeObserver), so text is never stretched or shrunk.
 */
export function LineChart({ series, labels, height = 160 }: { series: Series[]; labels: string[]; height?: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(600);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(200, Math.floor(el.clientWidth))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const pad = { l: 36, r: 8, t: 10, b: 22 };
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i: number) => pad.l + (n === 1 ? 0 : (i / (n - 1)) * (width - pad.l - pad.r));
  const y = (v: number) => pad.t + (1 - v / max) * (height - pad.t - pad.b);
  return (
    <div ref={ref} class="chart-box">
      <svg class="chart" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={series.map((s) => s.name).join(', ')}>
        <line class="axis" x1={pad.l} y1={y(0)} x2={width - pad.r} y2={y(0)} />
        <line class="grid" x1={pad.l} y1={y(max)} x2={width - pad.r} y2={y(max)} />
        <text class="tick" x={pad.l - 6} y={y(max) + 4} text-anchor="end">
          {max}
        </text>
        <text class="tick" x={pad.l - 6} y={y(0) + 4} text-anchor="end">
          0
        </text>
        {labels.length > 0 && (
          <>
            <text class="tick" x={pad.l} y={height - 4}>
              {labels[0]}
            </text>
            <text class="tick" x={width - pad.r} y={height - 4} text-anchor="end">
              {labels[labels.length - 1]}
            </text>
          </>
        )}
        {series.map((s) => (
          <polyline class={`line ${s.kind}`} points={s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ')}>
            <title>{s.name}</title>
          </polyline>
        ))}
      </svg>
      <div class="legend">
        {series.map((s) => (
          <span class={`key ${s.kind}`}>{s.name}</span>
        ))}
      </div>
    </div>
  );
}

/** Horizontal bars, one per item, labelled with the value. */
export function BarList({ items, format = String }: { items: { label: string; value: number }[]; format?: (v: number) => string }) {
  const max = Math.max(1e-9, ...items.map((i) => i.value));
  return (
    <div class="bars" role="list">
      {items.map((item) => (
        <div class="bar-row" role="listitem">
          <span class="bar-label" title={item.label}>
            {item.label}
          </span>
          <span class="bar-track">
            {/* A style property set through the DOM (not an inline style attribute), which the CSP allows */}
            <span class="bar-fill" style={{ width: `${Math.max(0.5, (item.value / max) * 100)}%` }} />
          </span>
          <span class="bar-value">{format(item.value)}</span>
        </div>
      ))}
    </div>
  );
}
