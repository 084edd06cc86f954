/**
 * turnstream's house style on top of Grafana's own typed panel builders
 * (`@grafana/grafana-foundation-sdk`): every panel reads the `${datasource}` variable, carries a
 * description, and starts from the same legend, tooltip, reduce and threshold settings. Each preset
 * returns the SDK builder itself, so a board adds its unit, size and queries with the SDK's methods.
 */
import { PanelBuilder as BarGaugePanelBuilder } from '@grafana/grafana-foundation-sdk/bargauge';
import {
  BarGaugeDisplayMode,
  BigValueColorMode,
  BigValueGraphMode,
  BigValueJustifyMode,
  BigValueTextMode,
  GraphDrawStyle,
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TableCellHeight,
  TableFooterOptionsBuilder,
  TooltipDisplayMode,
  VisibilityMode,
  VizLegendOptionsBuilder,
  VizOrientation,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { type DataSourceRef, FieldColorBuilder, FieldColorModeId, ThresholdsConfigBuilder, ThresholdsMode } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as GaugePanelBuilder } from '@grafana/grafana-foundation-sdk/gauge';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** Every panel and query points at the `datasource` variable, never at a fixed uid. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal
export const DS: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** A threshold step above the base (green); drawn as a line on time series. */
export interface Step {
  readonly value: number;
  readonly color: string;
}

/** Absolute thresholds: green below the first step. */
export function thresholds(...steps: readonly Step[]): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ color: 'green', value: null }, ...steps]);
}

const query = (expr: string, legend: string): DataqueryBuilder => new DataqueryBuilder().datasource(DS).expr(expr).legendFormat(legend);

/** A query drawn over time (time series panels). */
export const rangeQuery = (expr: string, legend: string): DataqueryBuilder => query(expr, legend).range();
/** A query evaluated once at the end of the range (stat, gauge, bar gauge). */
export const instantQuery = (expr: string, legend: string): DataqueryBuilder => query(expr, legend).instant();
/** An instant query returned as table rows, one per label set. */
export const tableQuery = (expr: string, legend: string): DataqueryBuilder => instantQuery(expr, legend).format(PromQueryFormat.Table);

const lastValue = (): ReduceDataOptionsBuilder => new ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('').values(false);
const colorBy = (mode: FieldColorModeId): FieldColorBuilder => new FieldColorBuilder().mode(mode);

export interface TimeseriesPreset {
  /** Stacked areas (parts of a whole) instead of lines. */
  readonly stack?: boolean;
  /** Thresholds drawn as lines across the graph. */
  readonly lines?: readonly Step[];
}

/** A time series with a table legend (mean, max, last) and a shared, sorted tooltip. */
export function timeseries(title: string, description: string, { stack = false, lines }: TimeseriesPreset = {}): TimeseriesPanelBuilder {
  return new TimeseriesPanelBuilder()
    .title(title)
    .description(description)
    .datasource(DS)
    .colorScheme(colorBy(FieldColorModeId.PaletteClassic))
    .thresholds(thresholds(...(lines ?? [])))
    .drawStyle(GraphDrawStyle.Line)
    .lineWidth(1)
    .fillOpacity(stack ? 30 : 10)
    .showPoints(VisibilityMode.Never)
    .spanNulls(false)
    .stacking(new StackingConfigBuilder().mode(stack ? StackingMode.Normal : StackingMode.None).group('A'))
    .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(lines === undefined ? GraphThresholdsStyleMode.Off : GraphThresholdsStyleMode.Line))
    .legend(
      new VizLegendOptionsBuilder()
        .displayMode(LegendDisplayMode.Table)
        .placement(LegendPlacement.Bottom)
        .showLegend(true)
        .calcs(['mean', 'max', 'lastNotNull']),
    )
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending));
}

/** One big number, coloured by its thresholds. */
export function stat(title: string, description: string, ...steps: readonly Step[]): StatPanelBuilder {
  return new StatPanelBuilder()
    .title(title)
    .description(description)
    .datasource(DS)
    .colorScheme(colorBy(FieldColorModeId.Thresholds))
    .thresholds(thresholds(...steps))
    .reduceOptions(lastValue())
    .colorMode(BigValueColorMode.Value)
    .graphMode(BigValueGraphMode.None)
    .justifyMode(BigValueJustifyMode.Auto)
    .textMode(BigValueTextMode.Auto);
}

/** A dial with its threshold markers. */
export function gauge(title: string, description: string, ...steps: readonly Step[]): GaugePanelBuilder {
  return new GaugePanelBuilder()
    .title(title)
    .description(description)
    .datasource(DS)
    .colorScheme(colorBy(FieldColorModeId.Thresholds))
    .thresholds(thresholds(...steps))
    .reduceOptions(lastValue())
    .showThresholdMarkers(true)
    .showThresholdLabels(false);
}

/** Horizontal bars, one per series (top-N lists). */
export function barGauge(title: string, description: string, ...steps: readonly Step[]): BarGaugePanelBuilder {
  return new BarGaugePanelBuilder()
    .title(title)
    .description(description)
    .datasource(DS)
    .colorScheme(colorBy(FieldColorModeId.Thresholds))
    .thresholds(thresholds(...steps))
    .reduceOptions(lastValue())
    .orientation(VizOrientation.Horizontal)
    .displayMode(BarGaugeDisplayMode.Gradient)
    .showUnfilled(true);
}

/** One row per label set of an instant query; the constant Time column hidden. */
export function table(title: string, description: string): TablePanelBuilder {
  return new TablePanelBuilder()
    .title(title)
    .description(description)
    .datasource(DS)
    .colorScheme(colorBy(FieldColorModeId.Thresholds))
    .thresholds(thresholds())
    .showHeader(true)
    .cellHeight(TableCellHeight.Sm)
    .footer(new TableFooterOptionsBuilder().show(false).reducer(['sum']).fields([]))
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { Value: 'value' } } });
}
