import { lazy, Suspense, type ComponentType } from 'react';
import { Redirect, Route, Switch } from 'wouter';
import { Loading } from '../ui/states';
import { Layout } from './Layout';
import { useSession } from './session';
import { SignInPage } from '../pages/SignInPage';
import { NotFoundPage } from '../pages/NotFoundPage';

/**
 * The dashboard's routes. Each page is its own chunk, loaded when first visited, so the first load carries only the
 * frame (React, the router, the query client, the session and the header). Later domains add their routes here and
 * their entry in NAV (Layout.tsx): `/models`, `/connectors`, `/alerts`.
 */
const page = (load: () => Promise<{ default: ComponentType }>) => lazy(load);

const DatasetsPage = page(() => import('../pages/datasets/DatasetsPage'));
const DatasetPage = page(() => import('../pages/dataset/DatasetPage'));
const PipelinesPage = page(() => import('../pages/pipelines/PipelinesPage'));
const PipelineBuilderPage = page(() => import('../pages/pipelines/PipelineBuilderPage'));
const JobsPage = page(() => import('../pages/jobs/JobsPage'));
const JobPage = page(() => import('../pages/jobs/JobPage'));
const SettingsPage = page(() => import('../pages/settings/SettingsPage'));
const SystemPage = page(() => import('../pages/system/SystemPage'));

export function App() {
  const { status, me } = useSession();
  if (status === 'starting') return <Loading label="Starting…" />;
  if (status === 'signedOut') return <SignInPage />;
  // Pages read the caller (useMe) as they render: nothing below renders until it is loaded, after a sign-in, a page
  // load or a workspace switch.
  if (!me) return <Loading label="Loading your account…" />;
  return (
    <Layout>
      <Suspense fallback={<Loading />}>
        <Switch>
          <Route path="/">
            <Redirect to="/datasets" replace />
          </Route>
          <Route path="/sign-in">
            <Redirect to="/datasets" replace />
          </Route>
          <Route path="/datasets" component={DatasetsPage} />
          <Route path="/datasets/:id" component={DatasetPage} />
          <Route path="/pipelines" component={PipelinesPage} />
          <Route path="/pipelines/new" component={PipelineBuilderPage} />
          <Route path="/pipelines/:id" component={PipelineBuilderPage} />
          <Route path="/jobs" component={JobsPage} />
          <Route path="/jobs/:id" component={JobPage} />
          <Route path="/settings" component={SettingsPage} />
          <Route path="/settings/:tab" component={SettingsPage} />
          <Route path="/system" component={SystemPage} />
          <Route component={NotFoundPage} />
        </Switch>
      </Suspense>
    </Layout>
  );
}
