// Two small SVG charts, enough for the overview and usage pages; no chart library.

export interface Series {
  name: string;
  values: number[];
  kind: 'primary' | 'danger';
}

/** Lines over a shared x axis (equal spacing), with the y maximum labelled. */
export function LineChart({ series, labels, height = 140 }: { series: Series[]; labels: string[]; height?: number }) {
  const width = 600;
  const pad = { l: 36, r: 8, t: 10, b: 20 };
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i: number) => pad.l + (n === 1 ? 0 : (i / (n - 1)) * (width - pad.l - pad.r));
  const y = (v: number) => pad.t + (1 - v / max) * (height - pad.t - pad.b);
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={series.map((s) => s.name).join(', ')}>
      <line class="axis" x1={pad.l} y1={y(0)} x2={width - pad.r} y2={y(0)} />
      <line class="grid" x1={pad.l} y1={y(max)} x2={width - pad.r} y2={y(max)} />
      <text class="tick" x={pad.l - 4} y={y(max) + 4} text-anchor="end">
        {max}
      </text>
      <text class="tick" x={pad.l - 4} y={y(0) + 4} text-anchor="end">
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
  );
}

/** Horizontal bars, one per item, labelled with the value. */
export function BarList({ items, format = String }: { items: { label: string; value: number }[]; format?: (v: number) => string }) {
  const max = Math.max(1e-9, ...items.map((i) => i.value));
  const row = 24;
  const width = 600;
  const labelW = 180;
  const valueW = 80;
  return (
    <svg class="chart bars" viewBox={`0 0 ${width} ${items.length * row}`} role="img">
      {items.map((item, i) => (
        <g>
          <text class="label" x={0} y={i * row + 16}>
            {item.label.length > 24 ? `${item.label.slice(0, 23)}…` : item.label}
          </text>
          <rect class="bar" x={labelW} y={i * row + 4} height={row - 8} width={Math.max(1, (item.value / max) * (width - labelW - valueW))} rx={3} />
          <text class="value" x={width} y={i * row + 16} text-anchor="end">
            {format(item.value)}
          </text>
        </g>
      ))}
    </svg>
  );
}
