import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, call } from '../api/client';
import { credentials } from '../api/credentials';
import { ProblemError } from '../api/problem';
import type { components, paths } from '../api/schema';

export type Me = paths['/api/v1/auth/me']['get']['responses']['200']['content']['application/json'];
export type Permission = Me['workspace']['permissions'][number];
export type User = components['schemas']['User'];

type Status = 'starting' | 'signedOut' | 'signedIn';

interface Session {
  status: Status;
  /** Why the last session ended, when it ended on its own (expired, revoked): shown on the sign-in page. */
  endedBecause: string | null;
  me: Me | undefined;
  signIn(email: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  switchWorkspace(id: string): void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** The signed-in caller: only under a page that the SessionGate renders. */
export function useMe(): Me {
  const { me } = useSession();
  if (!me) throw new Error('useMe before the session is loaded');
  return me;
}

/**
 * Whether the caller may do `permission` in the current workspace. Buttons for actions a role lacks are not shown;
 * the API refuses them anyway.
 */
export function useCan(permission: Permission): boolean {
  const { me } = useSession();
  return me?.workspace.permissions.includes(permission) ?? false;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<Status>('starting');
  const [endedBecause, setEndedBecause] = useState<string | null>(null);
  const [workspaceId, setWorkspaceId] = useState(credentials.workspaceId);

  // A page load resumes the session from the refresh cookie, if there is one.
  useEffect(() => {
    let live = true;
    void credentials.refresh().then((ok) => live && setStatus(ok ? 'signedIn' : 'signedOut'));
    return () => {
      live = false;
    };
  }, []);

  // The token is refreshed a minute before it expires, silently; the server revoking it ends the session.
  useEffect(() => {
    if (status !== 'signedIn') return;
    let timer: ReturnType<typeof setTimeout>;
    const schedule = () => {
      timer = setTimeout(() => void credentials.refresh().then((ok) => ok && schedule()), credentials.refreshDueIn());
    };
    schedule();
    const offExpired = credentials.onExpired(() => {
      setEndedBecause('Your session ended (it expired or was revoked). Sign in again to continue.');
      setStatus('signedOut');
      queryClient.clear();
    });
    return () => {
      clearTimeout(timer);
      offExpired();
    };
  }, [status, queryClient]);

  const meQuery = useQuery({
    queryKey: ['me', workspaceId],
    enabled: status === 'signedIn',
    staleTime: 60_000,
    retry: false,
    queryFn: async () => {
      try {
        return await call(api.GET('/api/v1/auth/me'));
      } catch (e) {
        // The remembered workspace is gone (removed, or membership ended): fall back to the default one.
        if (e instanceof ProblemError && e.status === 404 && credentials.workspaceId) {
          credentials.selectWorkspace(null);
          return call(api.GET('/api/v1/auth/me'));
        }
        throw e;
      }
    },
  });

  const signIn = useCallback(
    async (email: string, password: string) => {
      const answer = await call(api.POST('/api/v1/auth/login', { body: { email, password } }));
      credentials.set(answer);
      setEndedBecause(null);
      queryClient.clear();
      setStatus('signedIn');
    },
    [queryClient],
  );

  const signOut = useCallback(async () => {
    await call(api.POST('/api/v1/auth/logout')).catch(() => undefined);
    credentials.clear();
    credentials.broadcastSignOut();
    queryClient.clear();
    setEndedBecause(null);
    setStatus('signedOut');
  }, [queryClient]);

  const switchWorkspace = useCallback(
    (id: string) => {
      credentials.selectWorkspace(id);
      // Everything cached belongs to the previous workspace.
      queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== 'me' });
      setWorkspaceId(id);
    },
    [queryClient],
  );

  const me = status === 'signedIn' ? meQuery.data : undefined;
  // Keep the client's header in step with the workspace the server says this session is in.
  useEffect(() => {
    if (me && credentials.workspaceId !== me.workspace.id) credentials.selectWorkspace(me.workspace.id);
  }, [me]);

  const value = useMemo<Session>(
    () => ({ status, endedBecause, me, signIn, signOut, switchWorkspace }),
    [status, endedBecause, me, signIn, signOut, switchWorkspace],
  );
  return (
    <SessionContext.Provider value={value}>
      {status === 'signedIn' && meQuery.isError ? <SessionError error={meQuery.error} /> : children}
    </SessionContext.Provider>
  );
}

function SessionError({ error }: { error: unknown }) {
  return (
    <main>
      <div className="state-error" role="alert">
        <strong>Could not load your account.</strong> {error instanceof Error ? error.message : String(error)}
      </div>
    </main>
  );
}
