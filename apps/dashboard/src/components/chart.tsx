/**
 * An ECharts chart. Only the pieces used are imported (line and bar charts, grid, tooltip, legend, SVG renderer):
 * the full library is several times larger. The chart follows its container's width.
 */

import type { BarSeriesOption, LineSeriesOption } from 'echarts/charts';
import { BarChart, LineChart } from 'echarts/charts';
import type { GridComponentOption, LegendComponentOption, TooltipComponentOption } from 'echarts/components';
import { DatasetComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { type ComposeOption, init, use } from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import type { JSX } from 'solid-js';
import { createEffect, onCleanup, onMount } from 'solid-js';

use([LineChart, BarChart, GridComponent, TooltipComponent, LegendComponent, DatasetComponent, SVGRenderer]);

export type ChartOption = ComposeOption<
  LineSeriesOption | BarSeriesOption | GridComponentOption | TooltipComponentOption | LegendComponentOption
>;

export function Chart(props: { option: ChartOption; label: string; height?: number }): JSX.Element {
  let el!: HTMLDivElement;
  let chart: ReturnType<typeof init> | undefined;
  onMount(() => {
    chart = init(el, undefined, { renderer: 'svg' });
    const observer = new ResizeObserver(() => chart?.resize());
    observer.observe(el);
    onCleanup(() => {
      observer.disconnect();
      chart?.dispose();
    });
  });
  createEffect(() => {
    const option = props.option;
    chart?.setOption(option, { notMerge: true });
  });
  return (
    <div ref={el} role="img" aria-label={props.label} style={{ height: `${props.height ?? 280}px`, width: '100%' }} />
  );
}
