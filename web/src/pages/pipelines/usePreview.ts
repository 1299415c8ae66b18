import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { ProblemError } from '../../api/problem';
import type { Definition, Preview } from './api';
import { stepIndexOf } from './draft';

/** Rows shown under the input and under each step. */
export const PREVIEW_ROWS = 20;
/** Edits are previewed once typing pauses this long (ms): one request per pause, not per key. */
const SETTLE_MS = 450;

export interface PreviewResult {
  /** The input's and each step's first rows: every step's when the definition compiled, else those before the error. */
  preview: Preview | null;
  /** Why the definition (as it is) cannot run: its field errors are shown at their fields. */
  error: ProblemError | null;
}

/**
 * Previews the definition being edited, after the edits settle. `POST /pipelines/preview` answers every step's rows
 * at once, or one error for the whole definition; when that error points into step k, the steps before it are
 * previewed on their own, so their grids stay while step k is being fixed.
 */
export function usePreview(definition: Definition, params: Record<string, unknown> | undefined, enabled: boolean) {
  const body = JSON.stringify({ definition, params });
  const settled = useSettled(body, SETTLE_MS);
  return useQuery({
    queryKey: ['pipelines', 'preview', settled],
    enabled: enabled && definition.input.datasetId !== '',
    placeholderData: keepPreviousData,
    staleTime: 60_000,
    retry: false,
    queryFn: async ({ signal }): Promise<PreviewResult> => {
      const request = JSON.parse(settled) as { definition: Definition; params?: Record<string, unknown> };
      try {
        return { preview: await preview(request, signal), error: null };
      } catch (error) {
        if (!(error instanceof ProblemError)) throw error;
        const failed = error.fieldErrors.map((e) => stepIndexOf(e.pointer)).find((i) => i !== null);
        if (failed === undefined || failed === null) return { preview: null, error };
        const before = {
          ...request,
          definition: { ...request.definition, steps: request.definition.steps.slice(0, failed) },
        };
        const partial = await preview(before, signal).catch(() => null);
        return { preview: partial, error };
      }
    },
  });
}

function preview(request: { definition: Definition; params?: Record<string, unknown> }, signal: AbortSignal) {
  return call(
    api.POST('/api/v1/pipelines/preview', {
      body: { ...request, limit: PREVIEW_ROWS },
      signal,
    }),
  );
}

/** `value`, once it has stopped changing for `ms`. */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
