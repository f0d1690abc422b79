// The console's benchmark, in Debian's Chromium: first meaningful paint,
// and the time to list 10,000 images.  Run by bench/console.sh, which
// starts the daemon, seeds the images into its catalogue and exports
// ENDPOINT, KEY, SECRET, IMAGES (how many the account owns) and RUNS.
// Prints Markdown.
//
// "First meaningful paint" here is the time from the start of the
// navigation (performance.timeOrigin) to the frame after the first view
// that means something is in the page: the sign-in form for a new visitor,
// the instances table with its rows for a signed-in one.  Chromium's own
// first-contentful-paint is shown beside it (the static header).
import {
  DescribeImagesCommand, DescribeInstancesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';

import { openBrowser } from './browser.mjs';

const { ENDPOINT, KEY, SECRET } = process.env;
const IMAGES = Number(process.env.IMAGES || 10000);
const RUNS = Number(process.env.RUNS || 5);

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
const fmt = (xs) => `${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;

// Waits for a selector, then for the frame after it: the time it was shown.
async function paintedAt(page, selector) {
  await page.waitForSelector(selector, { timeout: 60000 });
  return page.evaluate(() => new Promise((resolve) => {
    requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())));
  }));
}
const fcp = (page) => page.evaluate(() => {
  const e = performance.getEntriesByName('first-contentful-paint')[0];
  return e ? e.startTime : NaN;
});

// One instance, so that the signed-in first view has a row to show.
const ec2 = new EC2Client({ endpoint: ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
const sample = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['amibox-sample-hvm'] }] }))).Images[0];
const launched = (await ec2.send(new RunInstancesCommand({ ImageId: sample.ImageId, InstanceType: 't2.micro', MinCount: 1, MaxCount: 1 }))).Instances[0].InstanceId;

const rows = {
  signin: [], signinFcp: [], instances: [], warm: [], list: [], firstPage: [], listFetch: [], listWire: [],
  listRender: [], search: [], sort: [],
};
let transferred = 0;
const session = JSON.stringify({ accessKeyId: KEY, secretAccessKey: SECRET, region: 'us-east-1', account: process.env.ACCOUNT });

for (let run = 0; run < RUNS; run++) {
  // A new visitor: a new profile, nothing cached.
  let b = await openBrowser();
  await b.page.goto(`${ENDPOINT}/console/`);
  rows.signin.push(await paintedAt(b.page, '#access-key'));
  rows.signinFcp.push(await fcp(b.page));
  // What a first visit costs on the wire: the page, its files, config.json.
  transferred = await b.page.evaluate(() => [...performance.getEntriesByType('navigation'),
    ...performance.getEntriesByType('resource')].reduce((n, e) => n + e.transferSize, 0));
  await b.close();

  // Signed in (the keys in the tab's sessionStorage, as signing in leaves
  // them), again with nothing cached; then reloaded (revalidated: 304s).
  b = await openBrowser();
  const { page } = b;
  await page.addInitScript((s) => { sessionStorage.setItem('amibox.session', s); }, session);
  await page.goto(`${ENDPOINT}/console/#/instances`);
  rows.instances.push(await paintedAt(page, 'section[data-table="Instances"] tbody tr'));
  await page.reload();
  rows.warm.push(await paintedAt(page, 'section[data-table="Instances"] tbody tr'));

  // 10,000 images: from the click on "AMIs" to the table drawn with the
  // count of all; the app's marks give the first page and split fetch
  // from draw; Resource Timing gives the requests' time on the wire.
  await page.evaluate(() => { performance.clearMarks(); performance.clearResourceTimings(); });
  const t0 = await page.evaluate(() => performance.now());
  await page.click('#nav a[href="#/images"]');
  const t1 = await paintedAt(page, `body[data-images-listed="${IMAGES}"]`);
  rows.list.push(t1 - t0);
  const marks = await page.evaluate(() => ({
    first: performance.getEntriesByName('amibox-images-first-page')[0]?.detail.ms,
    done: performance.getEntriesByName('amibox-images-listed')[0].detail,
    wire: performance.getEntriesByType('resource').filter((e) => e.initiatorType === 'fetch')
      .reduce((sum, e) => sum + (e.responseEnd - e.startTime), 0),
  }));
  if (marks.first !== undefined) rows.firstPage.push(marks.first);
  rows.listFetch.push(marks.done.fetchMs);
  rows.listWire.push(marks.wire);
  rows.listRender.push(marks.done.drawMs);
  const count = await page.textContent('section[data-table="AMIs"] .count');
  if (!count.includes(IMAGES.toLocaleString('en-US'))) throw new Error(`the table counts ${count}, not ${IMAGES}`);
  // Searching the 10,000 for one family, and sorting them by ID.
  const s0 = await page.evaluate(() => performance.now());
  await page.fill('input[aria-label="Search AMIs"]', 'family00420-');
  await page.waitForFunction(() => document.querySelectorAll('section[data-table="AMIs"] tbody tr').length === 10);
  rows.search.push(await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(performance.now())))) - s0 - 120);
  await page.fill('input[aria-label="Search AMIs"]', '');
  await page.waitForFunction((n) => document.querySelector('section[data-table="AMIs"] .count').textContent.includes(n), IMAGES.toLocaleString('en-US'));
  const o0 = await page.evaluate(() => performance.now());
  await page.click('section[data-table="AMIs"] th:nth-child(3)');
  rows.sort.push(await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))) - o0);
  await b.close();
}

// The daemon's share: the same ten DescribeImages pages from node.
const server = [];
for (let run = 0; run < RUNS; run++) {
  const t0 = performance.now();
  let token;
  let n = 0;
  do {
    const r = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], IncludeDeprecated: true, MaxResults: 1000, NextToken: token }));
    n += r.Images.length;
    token = r.NextToken;
  } while (token);
  if (n !== IMAGES) throw new Error(`node listed ${n} images`);
  server.push(performance.now() - t0);
}
await ec2.send(new TerminateInstancesCommand({ InstanceIds: [launched] }));
for (;;) {
  const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [launched] }));
  if (r.Reservations[0].Instances[0].State.Name === 'terminated') break;
  await new Promise((res) => setTimeout(res, 200));
}
ec2.destroy();

console.log(`Median of ${RUNS} runs, a new Chromium profile for each visitor (nothing cached).`);
console.log();
console.log('| measure | time |');
console.log('|---|---|');
console.log(`| first contentful paint, new visitor (the static header) | ${fmt(rows.signinFcp)} |`);
console.log(`| first meaningful paint, new visitor: the sign-in form | ${fmt(rows.signin)} |`);
console.log(`| first meaningful paint, signed in: the instances table with its row | ${fmt(rows.instances)} |`);
console.log(`| the same, reloaded (files revalidated: 304) | ${fmt(rows.warm)} |`);
if (rows.firstPage.length) console.log(`| ${IMAGES.toLocaleString('en-US')} images: click on AMIs to the first 1,000 drawn | ${fmt(rows.firstPage)} |`);
console.log(`| ${IMAGES.toLocaleString('en-US')} images: click on AMIs to all of them listed, sorted, counted, first page drawn | ${fmt(rows.list)} |`);
console.log(`| of which ${Math.ceil(IMAGES / 1000)} DescribeImages pages of 1,000, signed, fetched and parsed by the SDK in the page | ${fmt(rows.listFetch)} |`);
console.log(`| of which those requests on the wire (Resource Timing: request sent to last byte in) | ${fmt(rows.listWire)} |`);
console.log(`| of which sorting and drawing the table | ${fmt(rows.listRender)} |`);
console.log(`| the same ${Math.ceil(IMAGES / 1000)} pages from node (SDK v3), for comparison | ${fmt(server)} |`);
console.log(`| search the ${IMAGES.toLocaleString('en-US')} for one family (after the 120 ms typing pause) | ${fmt(rows.search)} |`);
console.log(`| sort the ${IMAGES.toLocaleString('en-US')} by AMI ID | ${fmt(rows.sort)} |`);
console.log();
console.log(`A first visit moves ${(transferred / 1024).toFixed(0)} KiB (the page, its files and config.json, headers included).`);
