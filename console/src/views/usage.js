// Cost and usage per day, by service and by instance type: Cost Explorer's
// GetCostAndUsage (DAILY, GroupBy DIMENSION), drawn as stacked bars.  A
// daemon without Cost Explorer, or one that refuses the call, gets "usage
// is not available" and the reason, never a broken page.
import { GetCostAndUsageCommand } from '@aws-sdk/client-cost-explorer';
import { ce } from '../aws.js';
import { stackedBars, swatchClass } from '../chart.js';
import { clear, errorText, h, select } from '../ui.js';
import { pageHead } from './common.js';

const DAY = 86400e3;
const iso = (d) => d.toISOString().slice(0, 10);

// Every page of one grouping: { days, groups: Map name -> [per day], unit }.
async function costBy(dimension, metric, start, end) {
  const days = [];
  for (let t = start.getTime(); t < end.getTime(); t += DAY) days.push(iso(new Date(t)));
  const groups = new Map();
  let unit = '';
  let token;
  do {
    const r = await ce(new GetCostAndUsageCommand({
      TimePeriod: { Start: iso(start), End: iso(end) }, Granularity: 'DAILY', Metrics: [metric],
      GroupBy: [{ Type: 'DIMENSION', Key: dimension }], NextPageToken: token,
    }));
    for (const period of r.ResultsByTime || []) {
      const i = days.indexOf(period.TimePeriod.Start);
      if (i < 0) continue;
      for (const g of period.Groups || []) {
        const name = (g.Keys || []).join(', ') || '(none)';
        const m = (g.Metrics || {})[metric] || {};
        if (!groups.has(name)) groups.set(name, new Array(days.length).fill(0));
        groups.get(name)[i] += Number(m.Amount || 0);
        unit = unit || m.Unit || '';
      }
    }
    token = r.NextPageToken;
  } while (token);
  return { days, groups, unit };
}

// The seven largest groups and the rest as "Other".
function topSeries(groups) {
  const sums = [...groups.entries()].map(([name, values]) => ({ name, values, total: values.reduce((a, b) => a + b, 0) }))
    .filter((s) => s.total > 0).sort((a, b) => b.total - a.total);
  if (sums.length <= 8) return sums;
  const rest = sums.slice(7);
  const other = rest[0].values.map((_, i) => rest.reduce((s, x) => s + x.values[i], 0));
  return [...sums.slice(0, 7), { name: 'Other', values: other, total: other.reduce((a, b) => a + b, 0) }];
}

function formatter(metric, unit) {
  if (metric === 'UnblendedCost') {
    return (v) => `${unit === 'USD' || !unit ? '$' : `${unit} `}${v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(4)}`;
  }
  return (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(2));
}

function chartPanel(title, data, metric) {
  const series = topSeries(data.groups);
  const format = formatter(metric, data.unit);
  const total = series.reduce((s, x) => s + x.total, 0);
  return h('section.panel', { 'data-chart': title },
    h('div.panel-head', h('h2', title), h('span.spacer'), h('span.muted', `Total ${format(total)}`)),
    series.length ? [
      h('div.panel-body', stackedBars(data.days, series, format)),
      h('div.legend', series.map((s, j) => h('span', h(`i.${swatchClass(j)}`), `${s.name}: ${format(s.total)}`))),
    ] : h('p.panel-body.muted.empty-usage', 'No usage recorded in this period.'));
}

export function usageView(root) {
  const period = select([['7', 'Last 7 days'], ['14', 'Last 14 days'], ['30', 'Last 30 days'], ['month', 'This month']], '14', { 'aria-label': 'Period' });
  const metric = select([['UnblendedCost', 'Cost (unblended)'], ['UsageQuantity', 'Usage quantity']], 'UnblendedCost', { 'aria-label': 'Metric' });
  const out = h('div', h('p.loading', 'Asking Cost Explorer…'));
  let generation = 0;
  const load = async () => {
    const mine = ++generation;
    clear(out, h('p.loading', 'Asking Cost Explorer…'));
    const now = new Date();
    const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) + DAY);
    const start = period.value === 'month' ? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))
      : new Date(end.getTime() - Number(period.value) * DAY);
    try {
      const [byService, byType] = await Promise.all([
        costBy('SERVICE', metric.value, start, end), costBy('INSTANCE_TYPE', metric.value, start, end)]);
      if (mine !== generation) return;
      clear(out,
        chartPanel('Per day, by service', byService, metric.value),
        chartPanel('Per day, by instance type', byType, metric.value));
      document.body.dataset.usage = 'shown';
    } catch (err) {
      if (mine !== generation) return;
      clear(out, h('div.notice.info', { id: 'usage-unavailable', role: 'status' },
        h('div', h('strong', 'Usage is not available. '),
          `This amibox did not answer Cost Explorer's GetCostAndUsage (${errorText(err)}). `,
          'Usage appears here once the daemon meters it.')));
      document.body.dataset.usage = 'unavailable';
    }
  };
  period.addEventListener('change', load);
  metric.addEventListener('change', load);
  clear(root, pageHead('Cost and usage', 'Per day, from Cost Explorer (GetCostAndUsage), as the daemon meters and prices it.'),
    h('div.filters.panel', h('label', 'Period', period), h('label', 'Metric', metric)), out);
  load();
  return () => { generation++; };
}
