import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ProblemError } from './api/problem';
import { App } from './app/App';
import { SessionProvider } from './app/session';
import { applyTheme } from './app/theme';
import { Toaster } from './ui/toast';
import './styles.css';

applyTheme();

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      // A client error (bad request, no permission, not found) does not get better by asking again.
      retry: (failures, error) =>
        failures < 2 && !(error instanceof ProblemError && error.status >= 400 && error.status < 500),
      refetchOnWindowFocus: false,
    },
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <Toaster>
        <SessionProvider>
          <App />
        </SessionProvider>
      </Toaster>
    </QueryClientProvider>
  </StrictMode>,
);
