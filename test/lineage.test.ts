import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LineageGraph, PipelineRun } from '../src/pipelines/model.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { actor, workspace } from './helpers/identity.js';
import { problemOf, uploadDataset } from './helpers/upload.js';

/**
 * Lineage through the HTTP API: an uploaded version has none; a derived version names its run, pipeline, inputs,
 * steps (parameters substituted) and parameters; chained pipelines form a graph back to the uploads, which stays
 * readable after the pipelines are deleted.
 */
let t: TestApp;
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  t = await startTestApp({ WEIR_RATE_LIMIT_USER: 'off' });
});
afterAll(async () => {
  await t?.close();
});

const dataset = (content: string, filename: string, auth = t.auth) =>
  uploadDataset({ api: t.api, auth }, content, { filename });

function post(path: string, body: unknown) {
  return t.fetch(`${t.api}${path}`, { method: 'POST', headers: json, body: JSON.stringify(body) });
}

async function save(name: string, definition: unknown): Promise<string> {
  const res = await post('/pipelines', { name, definition });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function run(pipelineId: string, body: unknown = {}): Promise<PipelineRun> {
  const res = await post(`/pipelines/${pipelineId}/run?wait=true`, body);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as PipelineRun;
}

async function lineage(datasetId: string, versionId?: string): Promise<LineageGraph> {
  const res = await t.fetch(`${t.api}/datasets/${datasetId}/lineage${versionId ? `?version=${versionId}` : ''}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as LineageGraph;
}

describe('lineage', () => {
  it('is null for an uploaded version, with the version as the only node', async () => {
    const up = await dataset('a\n1\n', 'plain.csv');
    expect(await lineage(up.id)).toEqual({
      datasetId: up.id,
      versionId: up.versionId,
      lineage: null,
      truncated: false,
      models: [],
      edges: [],
      nodes: [{ datasetId: up.id, versionId: up.versionId, datasetName: 'plain.csv', versionNumber: 1, runId: null }],
    });
  });

  it('follows chained pipelines and joins back to the uploads, and outlives the pipelines', async () => {
    const orders = await dataset('city,amount\nBerlin,10\nParis,25\nRome,3\n', 'orders.csv');
    const cities = await dataset('city,country\nBerlin,DE\nParis,FR\n', 'cities.csv');
    const a = await save('A: enrich', {
      input: { datasetId: orders.id },
      parameters: [{ name: 'min', type: 'integer', default: 5 }],
      steps: [
        { type: 'filter', expression: 'amount >= $min' },
        { type: 'join', dataset: { datasetId: cities.id }, on: ['city'], how: 'inner' },
      ],
    });
    const runA = await run(a, { params: { min: 4 } });
    const aOut = runA.output as { datasetId: string; versionId: string };
    const b = await save('B: doubled', {
      input: { datasetId: aOut.datasetId },
      parameters: [
        { name: 'factor', type: 'integer', default: 2 },
        { name: 'col', type: 'column', default: 'amount' },
      ],
      steps: [
        { type: 'derive', column: 'scaled', expression: 'amount * $factor' },
        { type: 'select', columns: ['country', { $param: 'col' }, 'scaled'] },
      ],
    });
    const runB = await run(b);
    const bOut = runB.output as { datasetId: string; versionId: string };

    const preview = (await (await t.fetch(`${t.api}/datasets/${bOut.datasetId}/preview`)).json()) as {
      rows: unknown[][];
    };
    expect(preview.rows.sort()).toEqual([
      ['DE', 10, 20],
      ['FR', 25, 50],
    ]);

    const graph = await lineage(bOut.datasetId);
    expect(graph.versionId).toBe(bOut.versionId);
    expect(graph.lineage).toEqual({
      versionId: bOut.versionId,
      datasetId: bOut.datasetId,
      runId: runB.id,
      pipeline: { id: b, version: 1, name: 'B: doubled' },
      inputs: [{ datasetId: aOut.datasetId, versionId: aOut.versionId, role: 'input' }],
      steps: [
        { type: 'derive', column: 'scaled', expression: 'amount * $factor' },
        { type: 'select', columns: ['country', 'amount', 'scaled'] },
      ],
      params: { factor: 2, col: 'amount' },
      createdAt: expect.any(String),
    });
    const byVersion = (id: string) => graph.nodes.find((n) => n.versionId === id);
    expect(graph.nodes).toHaveLength(4);
    expect(byVersion(bOut.versionId)).toEqual({
      datasetId: bOut.datasetId,
      versionId: bOut.versionId,
      datasetName: 'B: doubled output',
      versionNumber: 1,
      runId: runB.id,
    });
    expect(byVersion(aOut.versionId)).toEqual({
      datasetId: aOut.datasetId,
      versionId: aOut.versionId,
      datasetName: 'A: enrich output',
      versionNumber: 1,
      runId: runA.id,
    });
    expect(byVersion(orders.versionId)).toEqual({
      datasetId: orders.id,
      versionId: orders.versionId,
      datasetName: 'orders.csv',
      versionNumber: 1,
      runId: null,
    });
    expect(byVersion(cities.versionId)).toEqual({
      datasetId: cities.id,
      versionId: cities.versionId,
      datasetName: 'cities.csv',
      versionNumber: 1,
      runId: null,
    });
    expect(graph.edges).toEqual(
      expect.arrayContaining([
        {
          from: aOut.versionId,
          to: bOut.versionId,
          role: 'input',
          pipelineId: b,
          pipelineVersion: 1,
          pipelineName: 'B: doubled',
          runId: runB.id,
        },
        {
          from: orders.versionId,
          to: aOut.versionId,
          role: 'input',
          pipelineId: a,
          pipelineVersion: 1,
          pipelineName: 'A: enrich',
          runId: runA.id,
        },
        {
          from: cities.versionId,
          to: aOut.versionId,
          role: 'join',
          stepIndex: 1,
          pipelineId: a,
          pipelineVersion: 1,
          pipelineName: 'A: enrich',
          runId: runA.id,
        },
      ]),
    );
    expect(graph.edges).toHaveLength(3);
    expect(graph.truncated).toBe(false);

    const ofA = await lineage(aOut.datasetId, aOut.versionId);
    expect(ofA.lineage).toMatchObject({
      inputs: [
        { datasetId: orders.id, versionId: orders.versionId, role: 'input' },
        { datasetId: cities.id, versionId: cities.versionId, role: 'join', stepIndex: 1 },
      ],
      params: { min: 4 },
      steps: [
        { type: 'filter', expression: 'amount >= $min' },
        { type: 'join', dataset: { datasetId: cities.id }, on: ['city'], how: 'inner' },
      ],
    });

    // Deleting the pipelines keeps the history: lineage keeps their id and the name they had.
    for (const id of [a, b]) expect((await t.fetch(`${t.api}/pipelines/${id}`, { method: 'DELETE' })).status).toBe(204);
    const after = await lineage(bOut.datasetId);
    expect(after.lineage?.pipeline).toEqual({ id: b, version: 1, name: 'B: doubled' });
    expect(after.edges).toHaveLength(3);
    const oldRun = await t.fetch(`${t.api}/pipelines/runs/${runA.id}`);
    expect(oldRun.status).toBe(200);
    expect(await oldRun.json()).toMatchObject({ id: runA.id, pipelineId: a, status: 'succeeded' });
  });

  it('answers 404 for a dataset of another workspace and for an unknown version', async () => {
    const owner = await actor(t, 'owner', await workspace(t, 'Other'));
    const theirs = await dataset('a\n1\n', 'theirs.csv', owner.headers);
    const res = await t.fetch(`${t.api}/datasets/${theirs.id}/lineage`);
    expect(res.status).toBe(404);
    expect((await problemOf(res)).detail).toBe(`Dataset '${theirs.id}' does not exist`);
    const ours = await dataset('a\n2\n', 'ours.csv');
    const version = await t.fetch(`${t.api}/datasets/${ours.id}/lineage?version=dv_01J00000000000000000000000`);
    expect(version.status).toBe(404);
    expect((await problemOf(version)).detail).toBe("Version 'dv_01J00000000000000000000000' does not exist");
  });
});
