/**
 * `npm start` with two serving workers, as a real process tree: decisions come from both workers, one
 * frequency cap, one deduplicator and one event log hold across them, the management API and the dashboard
 * answer through the primary, changes reach every worker, a SIGKILLed worker is replaced without losing an
 * acknowledged event, and SIGTERM drains (the acknowledged events are in the log after a restart).
 *
 * Each request goes on a fresh connection: the cluster hands connections to workers in turn, so consecutive
 * requests alternate between the workers (the tests check which worker answered, from x-marquee-worker).
 */

import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MarqueeProcess, startMarquee } from '../testing/marquee-process.ts';
import {
  apiWithKey,
  createTrackingNetwork,
  type DecisionBody,
  exportEvents,
  type MarqueeApi,
  signIn,
  type TrackingNetwork,
  waitServing,
} from '../testing/tracking-network.ts';

const PASSWORD = 'cluster-test-password';
const ENV = {
  MARQUEE_WORKERS: '2',
  MARQUEE_DEMO_DATA: 'false',
  MARQUEE_ADMIN_PASSWORD: PASSWORD,
  MARQUEE_RATE_LIMIT_PER_MINUTE: '100000000',
  // A drain on a CI machine running the whole suite may take longer than the default 10 s bound (exit 1).
  MARQUEE_SHUTDOWN_TIMEOUT_MS: '60000',
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  worker: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a connection of its own (no keep-alive): the cluster's next worker takes it. */
function fresh(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const target = new URL(url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method,
        agent: false,
        headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('latin1');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            worker: String(res.headers['x-marquee-worker'] ?? ''),
            headers: res.headers,
            body: text,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // A connection handed to a worker that is being killed may never be answered.
    req.setTimeout(15_000, () => req.destroy(new Error('no answer')));
    req.end(payload);
  });
}

const decideFresh = async (url: string, placementIds: readonly string[], userKey: string) => {
  const a = await fresh(`${url}/v1/decisions`, 'POST', {
    placements: placementIds.map((id) => ({ id })),
    user: { key: userKey },
  });
  expect(a.status, a.body).toBe(200);
  return { worker: a.worker, body: JSON.parse(a.body) as DecisionBody };
};

/** The workers' ids ("slot:pid") as /health reports them. */
async function workerIds(url: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const a = await fresh(`${url}/health`, 'GET').catch(() => undefined);
    if (a?.status === 200) ids.add((JSON.parse(a.body) as { worker: string }).worker);
  }
  return ids;
}

/** Valid impressions in the log by decision id (read until two reads agree: appends may still land). */
async function loggedImpressions(api: MarqueeApi): Promise<Map<string, number>> {
  let events = await exportEvents(api);
  for (;;) {
    await sleep(300);
    const again = await exportEvents(api);
    if (again.length === events.length) break;
    events = again;
  }
  const out = new Map<string, number>();
  for (const e of events) {
    if (e['kind'] !== 'impression' || e['verdict'] !== 'valid') continue;
    const id = e['decisionId'] as string;
    out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

describe('npm start with 2 serving workers', { timeout: 240_000 }, () => {
  let marquee: MarqueeProcess;
  let api: MarqueeApi;
  let network: TrackingNetwork;

  beforeAll(async () => {
    marquee = await startMarquee(ENV, 180_000);
    api = await signIn(marquee.url, 'admin@localhost', PASSWORD);
    network = await createTrackingNetwork(api, 2, 1);
    await waitServing(marquee.url, network);
  }, 240_000);
  afterAll(async () => {
    await marquee?.stop();
  });

  it('answers decisions from both workers', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const { worker, body } = await decideFresh(marquee.url, [network.lineItems[0]!.placementId], `u${i}`);
      expect(body.decisions[network.lineItems[0]!.placementId]).toHaveLength(1);
      seen.add(worker);
    }
    expect(seen.size).toBe(2);
    expect(await workerIds(marquee.url)).toEqual(seen);

    // The primary's /metrics adds up the workers' counts: every decision above was answered by a worker.
    const metrics = await fresh(`${marquee.url}/metrics`, 'GET');
    expect(metrics.status).toBe(200);
    const line = metrics.body
      .split('\n')
      .find(
        (l) =>
          l.startsWith('marquee_http_requests_total{') &&
          l.includes('route="/v1/decisions"') &&
          l.includes('status="200"'),
      );
    expect(Number(line?.split(' ').pop())).toBeGreaterThanOrEqual(8);
  });

  it('forwards the management API, the dashboard and sign-in to the primary, keeping the request id', async () => {
    const dashboard = await fresh(`${marquee.url}/`, 'GET');
    expect(dashboard.status).toBe(200);
    expect(dashboard.headers['content-type']).toMatch(/text\/html/);
    const openapi = await fresh(`${marquee.url}/api/openapi.json`, 'GET');
    expect(openapi.status).toBe(200);
    expect(JSON.parse(openapi.body).paths['/v1/decisions']).toBeDefined();
    const ready = await fresh(`${marquee.url}/ready`, 'GET');
    expect(ready.status).toBe(200);
    const listed = await fresh(`${marquee.url}/api/v1/line-items?limit=5`, 'GET', undefined, {
      ...api.headers,
      'x-request-id': 'cluster-test-1',
    });
    expect(listed.status).toBe(200);
    expect(listed.headers['x-request-id']).toBe('cluster-test-1');
    expect(listed.worker).not.toBe('');
    const anonymous = await fresh(`${marquee.url}/api/v1/line-items`, 'GET');
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body).code).toBeTypeOf('string');
  });

  it('serves a change made through the API from every worker', async () => {
    const added = await createTrackingNetwork(api, 1, 0);
    const { placementId: placement, id: lineItemId } = added.lineItems[0]!;
    const filledOn = new Set<string>();
    const deadline = Date.now() + 20_000;
    while (filledOn.size < 2 && Date.now() < deadline) {
      const { worker, body } = await decideFresh(marquee.url, [placement], 'change-user');
      // Other networks' line items fit the same size: the new one must be the one served.
      if (body.decisions[placement]?.[0]?.lineItemId === lineItemId) filledOn.add(worker);
      else await sleep(50);
    }
    expect(filledOn.size).toBe(2);
  });

  it('holds a frequency cap of 1 per user across the workers', async () => {
    // Above the other networks' rate for the same size, so it wins every auction until its cap stops it.
    const capped = await createTrackingNetwork(api, 1, 0, {
      frequencyCaps: [{ count: 1, per: 'day' }],
      rateMicros: 50_000_000,
    });
    await waitServing(marquee.url, capped);
    const { placementId: placement, id: lineItemId } = capped.lineItems[0]!;
    const workers = new Set<string>();
    let fills = 0;
    let afterFirst = 0;
    // Until its first serve (on a loaded machine a worker may still be catching up with the new line item),
    // then ten more requests of the same user, over both workers: none may serve it again.
    const deadline = Date.now() + 60_000;
    while (afterFirst < 10 && Date.now() < deadline) {
      const { worker, body } = await decideFresh(marquee.url, [placement], 'capped-user');
      // Uncapped line items of the other networks fit this placement too: count the capped one only.
      const served = (body.decisions[placement] ?? []).filter((ad) => ad.lineItemId === lineItemId).length;
      if (fills > 0) {
        workers.add(worker);
        afterFirst++;
      } else if (served === 0) await sleep(200);
      fills += served;
    }
    expect(fills).toBe(1);
    expect(afterFirst).toBe(10);
    expect(workers.size).toBe(2);
    // Out of the later tests' auctions (it outbids their line items on the same size for other users).
    await api.call('POST', '/line-items/bulk-status', { ids: [lineItemId], status: 'paused' });
  });

  it('counts an impression once when it is replayed on the other worker or through batch ingestion', async () => {
    const placement = network.lineItems[0]!.placementId;
    const { body } = await decideFresh(marquee.url, [placement], 'replay-user');
    const ad = body.decisions[placement]![0]!;
    const answered = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const hit = await fresh(ad.tracking.impression, 'GET');
      expect(hit.status).toBe(200);
      answered.add(hit.worker);
    }
    expect(answered.size).toBe(2);
    // The same token through batch ingestion (forwarded to the primary): a duplicate.
    const token = new URL(ad.tracking.impression).pathname.split('/').pop()!;
    const batch = await fresh(`${marquee.url}/api/v1/events`, 'POST', [{ kind: 'impression', token }], api.headers);
    expect(batch.status, batch.body).toBe(200);
    expect(JSON.parse(batch.body).results[0].status).toBe('duplicate');
    // A fresh decision's impression through batch ingestion is accepted, then its pixel is a duplicate.
    const second = (await decideFresh(marquee.url, [placement], 'batch-user')).body.decisions[placement]![0]!;
    const secondToken = new URL(second.tracking.impression).pathname.split('/').pop()!;
    const accepted = await fresh(
      `${marquee.url}/api/v1/events`,
      'POST',
      [{ kind: 'impression', token: secondToken }],
      api.headers,
    );
    expect(JSON.parse(accepted.body).results[0].status).toBe('accepted');
    for (let i = 0; i < 2; i++) expect((await fresh(second.tracking.impression, 'GET')).status).toBe(200);

    const logged = await loggedImpressions(api);
    expect(logged.get(ad.decisionId)).toBe(1);
    expect(logged.get(second.decisionId)).toBe(1);
  });

  it("shows the workers' pacing (on track / behind / ahead) in the primary's delivery report", async () => {
    const budgeted = await createTrackingNetwork(api, 1, 0, { pacing: 'even', dailyBudgetMicros: 50_000_000 });
    await waitServing(marquee.url, budgeted);
    const { placementId: placement, id: lineItemId } = budgeted.lineItems[0]!;
    // The workers' control loops tick once a minute; the primary polls their views every few seconds.
    let control: Record<string, unknown> | null = null;
    const deadline = Date.now() + 200_000;
    for (let i = 0; control === null && Date.now() < deadline; i++) {
      await decideFresh(marquee.url, [placement], `paced-${i}`);
      const report = await fresh(`${marquee.url}/api/v1/reports/delivery`, 'GET', undefined, api.headers);
      expect(report.status).toBe(200);
      const rows = (JSON.parse(report.body) as { items: { lineItemId: string; control: unknown }[] }).items;
      const row = rows.find((r) => r.lineItemId === lineItemId);
      control = (row?.control as Record<string, unknown> | null | undefined) ?? null;
      if (control === null) await sleep(2_000);
    }
    // On a miss, the processes' log says why (a failed reconcile, an RPC timeout, a worker restart).
    expect(control, `no pacing view within 200 s; process output:\n${marquee.output().slice(-6_000)}`).toMatchObject({
      dailyTargetMicros: 50_000_000,
    });
    expect(['on_track', 'behind', 'ahead']).toContain(control!['status']);
  });

  it('attributes a conversion to a click a worker logged (conversions are answered by the primary)', async () => {
    const li = network.lineItems[2]!; // the CPC line item
    const { body } = await decideFresh(marquee.url, [li.placementId], 'convert-user');
    const ad = body.decisions[li.placementId]![0]!;
    const click = await fresh(ad.tracking.click!, 'GET');
    expect(click.status).toBe(302);
    const payload = new URL(ad.tracking.click!).pathname.split('/').pop()!.split('.')[1]!;
    const advertiserId = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as string[])[5]!;
    const conversion = await fresh(
      `${marquee.url}/t/conversion?advertiser=${advertiserId}&user=convert-user&order=cluster-order-1`,
      'GET',
    );
    expect(conversion.status).toBe(200);
    const events = await exportEvents(api);
    const logged = events.find((e) => e['kind'] === 'conversion' && e['orderId'] === 'cluster-order-1');
    expect(logged?.['verdict']).toBe('valid');
    expect(logged?.['lineItemId']).toBe(li.id);
    expect(logged?.['decisionId']).toBe(ad.decisionId);
  });

  it('replaces a SIGKILLed worker and loses no acknowledged impression', async () => {
    const before = await workerIds(marquee.url);
    expect(before.size).toBe(2);
    const victim = [...before][0]!;
    const victimPid = Number(victim.split(':')[1]);
    const placement = network.lineItems[1]!.placementId;
    const acked = new Set<string>();
    let stop = false;
    const load = (async () => {
      let i = 0;
      while (!stop) {
        try {
          const { body } = await decideFresh(marquee.url, [placement], `kill-user-${i++}`);
          const ad = body.decisions[placement]?.[0];
          if (!ad) continue;
          const hit = await fresh(ad.tracking.impression, 'GET');
          if (hit.status === 200) acked.add(ad.decisionId);
          else expect(hit.status).toBe(503);
        } catch {
          // a connection the killed worker held: no answer, nothing acknowledged
        }
      }
    })();
    await sleep(1_000);
    process.kill(victimPid, 'SIGKILL');
    // The primary forks a new worker for the slot.
    const slot = victim.split(':')[0]!;
    const deadline = Date.now() + 60_000;
    let replaced = false;
    while (!replaced && Date.now() < deadline) {
      await sleep(250);
      const ids = await workerIds(marquee.url);
      replaced = [...ids].some((id) => id.startsWith(`${slot}:`) && id !== victim);
    }
    expect(replaced).toBe(true);
    await sleep(500);
    stop = true;
    await load;
    expect(acked.size).toBeGreaterThan(10);
    const logged = await loggedImpressions(api);
    const lost = [...acked].filter((id) => !logged.has(id));
    expect(lost).toEqual([]);
    expect([...logged.values()].filter((n) => n > 1)).toEqual([]);
    expect(marquee.output()).toContain('serving worker died; restarting it');
  });
});

it('drains on SIGTERM: every acknowledged impression is in the log after a restart', { timeout: 300_000 }, async () => {
  const first = await startMarquee(ENV, 180_000);
  const dataDir = first.dataDir;
  let second: MarqueeProcess | undefined;
  try {
    const api = await signIn(first.url, 'admin@localhost', PASSWORD);
    const network = await createTrackingNetwork(api, 1, 0);
    await waitServing(first.url, network);
    const placement = network.lineItems[0]!.placementId;
    const ads = [];
    for (let i = 0; i < 40; i++)
      ads.push((await decideFresh(first.url, [placement], `drain-${i}`)).body.decisions[placement]![0]!);
    // Pixels in flight while the signal arrives: each is answered 200 (stored) or not at all / 503.
    const hits = ads.map(async (ad, i) => {
      await sleep(i * 5);
      const a = await fresh(ad.tracking.impression, 'GET').catch(() => undefined);
      return a?.status === 200 ? ad.decisionId : undefined;
    });
    await sleep(60);
    const exited = new Promise<number | null>((r) => first.child.once('exit', (code) => r(code)));
    first.child.kill('SIGTERM');
    const acked = (await Promise.all(hits)).filter((id): id is string => id !== undefined);
    expect(await exited).toBe(0);
    expect(acked.length).toBeGreaterThan(0);

    second = await startMarquee({ ...ENV, MARQUEE_WORKERS: '1', MARQUEE_DATA_DIR: dataDir }, 180_000);
    const logged = await loggedImpressions(apiWithKey(second.url, api.headers.authorization!.slice(7)));
    expect(acked.filter((id) => !logged.has(id))).toEqual([]);
  } finally {
    await second?.stop();
    await first.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

it('MARQUEE_CLUSTER=true with MARQUEE_WORKERS=1: one serving worker behind the primary', {
  timeout: 240_000,
}, async () => {
  const marquee = await startMarquee({ ...ENV, MARQUEE_WORKERS: '1', MARQUEE_CLUSTER: 'true' }, 180_000);
  try {
    const ids = await workerIds(marquee.url);
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    const [slot, pid] = id!.split(':');
    expect(slot).toBe('1');
    expect(Number(pid)).not.toBe(marquee.child.pid);
    // Decisions from that worker; the management API through the primary.
    const api = await signIn(marquee.url, 'admin@localhost', PASSWORD);
    const network = await createTrackingNetwork(api, 1, 0);
    await waitServing(marquee.url, network);
    const { worker, body } = await decideFresh(marquee.url, [network.lineItems[0]!.placementId], 'one-worker');
    expect(worker).toBe(id);
    expect(body.decisions[network.lineItems[0]!.placementId]).toHaveLength(1);
  } finally {
    await marquee.stop();
    rmSync(marquee.dataDir, { recursive: true, force: true });
  }
});
