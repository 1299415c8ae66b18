import { useState, type FormEvent } from 'react';
import { ProblemError } from '../api/problem';
import { useSession } from '../app/session';
import { Button, TextField } from '../ui/controls';
import { ErrorState } from '../ui/states';

export function SignInPage() {
  const { signIn, endedBecause } = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email.trim(), password);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  const problem = error instanceof ProblemError ? error : null;
  return (
    <main className="signin" id="main">
      <div className="card">
        <h1 style={{ marginBottom: '0.25rem' }}>Sign in to Weir</h1>
        <p className="muted" style={{ marginTop: 0 }}>
          First time here? Create the first account in the server&apos;s checkout with{' '}
          <code>npx weir admin create-user --email you@example.com</code>, then sign in with it. Later accounts are
          added under Settings.
        </p>
        {endedBecause && !error && (
          <p className="badge badge-warning" role="status">
            {endedBecause}
          </p>
        )}
        <form onSubmit={(e) => void submit(e)} noValidate>
          <TextField
            label="Email"
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            error={problem?.errorAt('/body/email')}
          />
          <TextField
            label="Password"
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={problem?.errorAt('/body/password')}
          />
          {error !== null && <ErrorState error={error} title="Not signed in" />}
          <Button type="submit" variant="primary" busy={busy}>
            Sign in
          </Button>
        </form>
      </div>
    </main>
  );
}
