// Small SVG charts drawn here (no charting library): a bar chart with a text alternative for screen readers.

export interface Bar {
  label: string;
  value: number;
}

export function BarChart(props: { id: string; title: string; bars: Bar[]; unit?: string; height?: number }) {
  const { bars, title } = props;
  const height = props.height ?? 160;
  const width = 480;
  const pad = { top: 12, bottom: 34, left: 36, right: 8 };
  const max = Math.max(1, ...bars.map((b) => b.value));
  const slot = bars.length > 0 ? (width - pad.left - pad.right) / bars.length : 0;
  const plot = height - pad.top - pad.bottom;
  const unit = props.unit ? ` ${props.unit}` : "";
  const labelEvery = Math.max(1, Math.ceil(bars.length / 12));
  return (
    <figure class="chart" id={props.id}>
      <figcaption>{title}</figcaption>
      {bars.length === 0 ? (
        <p class="muted">No data yet.</p>
      ) : (
        <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${props.id}-desc`} width="100%">
          <title id={`${props.id}-desc`}>
            {`${title}: ${bars.map((b) => `${b.label} ${b.value}${unit}`).join(", ")}`}
          </title>
          <line class="axis" x1={pad.left} y1={pad.top + plot} x2={width - pad.right} y2={pad.top + plot} />
          <text class="tick" x={pad.left - 4} y={pad.top + 8} text-anchor="end">
            {max}
          </text>
          <text class="tick" x={pad.left - 4} y={pad.top + plot} text-anchor="end">
            0
          </text>
          {bars.map((b, i) => {
            const h = (b.value / max) * plot;
            const x = pad.left + i * slot + slot * 0.1;
            return (
              <g key={`${i}-${b.label}`}>
                <rect class="bar" x={x} y={pad.top + plot - h} width={slot * 0.8} height={h}>
                  <title>{`${b.label}: ${b.value}${unit}`}</title>
                </rect>
                {i % labelEvery === 0 ? (
                  <text class="tick" x={x + slot * 0.4} y={height - pad.bottom + 14} text-anchor="middle">
                    {b.label}
                  </text>
                ) : null}
              </g>
            );
          })}
        </svg>
      )}
    </figure>
  );
}

/** Buckets durations (seconds) into a histogram with human-readable edges. */
export function durationHistogram(seconds: number[]): Bar[] {
  const edges: [number, string][] = [
    [10, "≤10s"],
    [60, "≤1m"],
    [5 * 60, "≤5m"],
    [15 * 60, "≤15m"],
    [60 * 60, "≤1h"],
    [4 * 3600, "≤4h"],
    [24 * 3600, "≤24h"],
    [Number.POSITIVE_INFINITY, ">24h"],
  ];
  const counts = edges.map(([, label]) => ({ label, value: 0 }));
  for (const s of seconds) {
    const i = edges.findIndex(([edge]) => s <= edge);
    const bucket = counts[i];
    if (bucket) bucket.value += 1;
  }
  return counts;
}

/** Counts items per UTC day between `from` and `to` (inclusive), days with none included. */
export function perDay(times: number[], from: number, to: number): Bar[] {
  const day = 86_400_000;
  const start = Math.floor(from / day) * day;
  const bars: Bar[] = [];
  for (let t = start; t <= to; t += day) bars.push({ label: new Date(t).toISOString().slice(5, 10), value: 0 });
  for (const time of times) {
    const bar = bars[Math.floor((time - start) / day)];
    if (bar) bar.value += 1;
  }
  return bars;
}

/** Counts items per UTC hour between `from` and `to` (inclusive), hours with none included. */
export function perHour(times: number[], from: number, to: number): Bar[] {
  const hour = 3_600_000;
  const start = Math.floor(from / hour) * hour;
  const bars: Bar[] = [];
  for (let t = start; t <= to; t += hour) bars.push({ label: `${new Date(t).toISOString().slice(11, 13)}h`, value: 0 });
  for (const time of times) {
    const bar = bars[Math.floor((time - start) / hour)];
    if (bar) bar.value += 1;
  }
  return bars;
}
