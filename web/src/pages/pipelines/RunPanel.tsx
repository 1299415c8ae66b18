import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link } from 'wouter';
import { api, call } from '../../api/client';
import { isFinished, JobProgress, useJob } from '../../api/jobs';
import { formatDuration, formatNumber } from '../../lib/format';
import { Button } from '../../ui/controls';
import { ErrorState, Loading } from '../../ui/states';
import { pipelineKeys, type RunAccepted } from './api';

/**
 * Runs the saved pipeline and follows the run live: the job's progress over the WebSocket, then, when it has
 * finished, the run itself (rows, duration) and a link to the dataset version it stored.
 */
export function RunPanel({
  pipelineId,
  version,
  params,
  blockedBecause,
  onParamErrors,
}: {
  pipelineId: string;
  version: number;
  params: Record<string, unknown> | undefined;
  /** Why the run button is off (unsaved edits), or null. */
  blockedBecause: string | null;
  /** A refused run's problem, so its field errors (a parameter's value) are shown at their fields. */
  onParamErrors: (error: unknown) => void;
}) {
  const [accepted, setAccepted] = useState<RunAccepted | null>(null);
  const run = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/pipelines/{id}/run', {
          params: { path: { id: pipelineId }, query: { wait: false } },
          body: params ? { params } : {},
        }),
      ),
    onMutate: () => onParamErrors(null),
    onSuccess: (data) => setAccepted(data as RunAccepted),
    onError: onParamErrors,
  });
  return (
    <div className="stack">
      <div className="row">
        <Button variant="primary" busy={run.isPending} disabled={blockedBecause !== null} onClick={() => run.mutate()}>
          Run version {version}
        </Button>
        {blockedBecause && <span className="muted">{blockedBecause}</span>}
      </div>
      {run.error !== null && <ErrorState error={run.error} title="Not run" />}
      {accepted && <LiveRun key={accepted.runId} accepted={accepted} pipelineId={pipelineId} />}
    </div>
  );
}

function LiveRun({ accepted, pipelineId }: { accepted: RunAccepted; pipelineId: string }) {
  const queryClient = useQueryClient();
  const job = useJob(accepted.jobId);
  const finished = job.data !== undefined && isFinished(job.data.status);
  const result = useQuery({
    queryKey: pipelineKeys.run(accepted.runId),
    enabled: finished,
    queryFn: () => call(api.GET('/api/v1/pipelines/runs/{runId}', { params: { path: { runId: accepted.runId } } })),
  });
  useEffect(() => {
    if (!finished) return;
    void queryClient.invalidateQueries({ queryKey: pipelineKeys.runs(pipelineId) });
    void queryClient.invalidateQueries({ queryKey: pipelineKeys.one(pipelineId) });
  }, [finished, pipelineId, queryClient]);
  return (
    <section className="run-live" aria-label="This run">
      {job.data ? (
        <JobProgress job={job.data} label="Pipeline run progress" />
      ) : job.error ? (
        <ErrorState error={job.error} />
      ) : (
        <Loading label="Starting the run…" />
      )}
      {result.data?.status === 'succeeded' && result.data.output.datasetId && (
        <p className="run-done">
          Stored {formatNumber(result.data.rowCount)} rows in {formatDuration(result.data.durationMs)}.{' '}
          <Link href={`/datasets/${result.data.output.datasetId}`} className="btn btn-small">
            Open the output dataset
          </Link>
        </p>
      )}
      {result.error && <ErrorState error={result.error} title="Run not read" />}
      <p className="muted" style={{ margin: 0 }}>
        <Link href={`/jobs/${accepted.jobId}`}>Job details</Link>
      </p>
    </section>
  );
}
