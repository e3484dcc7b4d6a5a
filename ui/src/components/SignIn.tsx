import { useState } from 'react';

// A tenant with credentials answers 401 until the page sends one of them as Authorization.
// The credential lives in React state only: never in the address, localStorage or
// sessionStorage, so it is gone when the tab closes or reloads, and it is sent only for the
// tenant it was entered for.

/** `Basic base64(user:password)` of UTF-8 text (btoa alone takes Latin-1 only). */
export function basicHeader(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

export function SignIn({
  tenant,
  refused,
  onSignIn,
}: {
  tenant: string;
  /** the server's message when a credential was sent and refused */
  refused: string | null;
  onSignIn: (authorization: string) => void;
}) {
  const [kind, setKind] = useState<'basic' | 'bearer'>('basic');
  const [username, setUsername] = useState('');
  const [secret, setSecret] = useState('');
  return (
    <section className="panel sign-in" data-testid="sign-in">
      <h2>Sign in to tenant {tenant || 'anonymous'}</h2>
      <p className="muted">
        This tenant requires credentials. They are kept in this page only, and forgotten when it is
        closed or reloaded.
      </p>
      {refused && (
        <p className="error" role="alert">
          {refused}
        </p>
      )}
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          if (kind === 'basic') onSignIn(basicHeader(username, secret));
          else onSignIn(`Bearer ${secret.trim()}`);
          setSecret('');
        }}
      >
        <div className="row">
          <label>
            <input
              type="radio"
              name="kind"
              checked={kind === 'basic'}
              onChange={() => setKind('basic')}
            />{' '}
            User and password (Basic)
          </label>
          <label>
            <input
              type="radio"
              name="kind"
              checked={kind === 'bearer'}
              onChange={() => setKind('bearer')}
            />{' '}
            Token (Bearer)
          </label>
        </div>
        {kind === 'basic' && (
          <div className="row">
            <label htmlFor="sign-in-user">User</label>
            <input
              id="sign-in-user"
              autoComplete="username"
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
          </div>
        )}
        <div className="row">
          <label htmlFor="sign-in-secret">{kind === 'basic' ? 'Password' : 'Token'}</label>
          <input
            id="sign-in-secret"
            type="password"
            autoComplete={kind === 'basic' ? 'current-password' : 'off'}
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
          />
          <button type="submit" disabled={secret === '' || (kind === 'basic' && username === '')}>
            Sign in
          </button>
        </div>
      </form>
    </section>
  );
}
