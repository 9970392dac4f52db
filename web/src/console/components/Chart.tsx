// One chart of the last hour, drawn by uPlot (a canvas chart of a few tens of kilobytes). The
// canvas is hidden from assistive technology; the figure's accessible name says its latest
// values instead.

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Line {
  label: string;
  values: (number | null)[];
  colour: string;
  dash?: number[];
}

const kHeight = 180;

function latest(values: (number | null)[]): string {
  for (let i = values.length - 1; i >= 0; --i) {
    const value = values[i];
    if (value !== null) return Number.isInteger(value) ? String(value) : value.toFixed(1);
  }
  return 'no data';
}

export function Chart(props: { title: string; t: number[]; lines: Line[] }) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.lines.map((line) => line.label).join('|');

  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 240),
      height: kHeight,
      series: [
        {},
        ...props.lines.map((line) => ({
          label: line.label,
          stroke: line.colour,
          width: 2,
          dash: line.dash,
          spanGaps: false,
        })),
      ],
      axes: [{}, { size: 60 }],
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
    plot.current = new uPlot(options, [props.t, ...props.lines.map((line) => line.values)], element);
    const resize = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(element.clientWidth, 240), height: kHeight });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([props.t, ...props.lines.map((line) => line.values)]);
  }, [props.t, props.lines]);

  const summary = props.lines.map((line) => `${line.label} ${latest(line.values)}`).join(', ');
  return (
    <figure class="chart" role="img" aria-label={`${props.title}, last hour; now: ${summary}`}>
      <figcaption aria-hidden="true">{props.title}</figcaption>
      <div ref={holder} aria-hidden="true" />
    </figure>
  );
}
