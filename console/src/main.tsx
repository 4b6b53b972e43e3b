// The Ephemera web console: sign in with the company's identity provider or an API key (either way a server-side
// session), then pages by URL hash.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, describe, type SessionInfo, type SignInMethods } from "./api";
import { GrantsPage } from "./pages/grants";
import { IdentitiesPage } from "./pages/identities";
import { QueuePage } from "./pages/queue";
import { ReportsPage } from "./pages/reports";
import { ReviewsPage } from "./pages/reviews";
import { StandingPage } from "./pages/standing";
import { TimelinePage } from "./pages/timeline";

const PAGES = [
  ["queue", "Approval queue"],
  ["reviews", "Break-glass reviews"],
  ["grants", "Active grants"],
  ["standing", "Standing privilege"],
  ["identities", "Identities"],
  ["reports", "Reports"],
] as const;

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return hash;
}

function SignIn(props: { signedIn: (session: SessionInfo) => void }) {
  const [methods, setMethods] = useState<SignInMethods | null>(null);
  useEffect(() => {
    api.signInMethods().then(setMethods, () => setMethods({ apiKey: true, oidc: null, cli: null }));
  }, []);
  if (methods === null) return <p class="muted">Loading…</p>;
  return (
    <main id="main" class="signin">
      <h1>Ephemera console</h1>
      {methods.oidc ? (
        <p>
          {/* A navigation, not a fetch: the browser goes to the provider and comes back signed in. */}
          <a class="button primary" href={methods.oidc.authorizeUrl}>
            Sign in with {methods.oidc.name}
          </a>
        </p>
      ) : null}
      {methods.apiKey ? <ApiKeySignIn signedIn={props.signedIn} /> : null}
    </main>
  );
}

function ApiKeySignIn(props: { signedIn: (session: SessionInfo) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await api.signIn(key.trim());
      setKey("");
      props.signedIn(session);
    } catch (err) {
      setError(describe(err).error);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} aria-describedby="signin-help">
      <label for="api-key">API key</label>
      <input
        id="api-key"
        type="password"
        autocomplete="off"
        spellcheck={false}
        required
        value={key}
        onInput={(e) => setKey(e.currentTarget.value)}
      />
      <p id="signin-help" class="muted">
        An admin's or approver's API key. It is exchanged for a session once and not kept by this page.
      </p>
      <button type="submit" class="primary" disabled={busy}>
        Sign in
      </button>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}

function Page(props: { hash: string; session: SessionInfo }) {
  const parts = props.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const [name, kind, id] = parts;
  switch (name) {
    case "reviews":
      return <ReviewsPage />;
    case "grants":
      return <GrantsPage session={props.session} />;
    case "timeline":
      return kind === "request" || kind === "grant" ? (
        <TimelinePage key={`${kind}/${id}`} kind={kind} id={id ?? ""} />
      ) : (
        <p>Unknown timeline.</p>
      );
    case "standing":
      return <StandingPage />;
    case "identities":
      return <IdentitiesPage />;
    case "reports":
      return <ReportsPage />;
    default:
      return <QueuePage session={props.session} />;
  }
}

function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const hash = useHash();
  useEffect(() => {
    api.resume().then(setSession, () => setSession(null));
  }, []);
  if (session === undefined) return <p class="muted">Loading…</p>;
  if (session === null) return <SignIn signedIn={setSession} />;
  const current = hash.replace(/^#\/?/, "").split("/")[0] || "queue";
  return (
    <>
      <header>
        <span class="brand">Ephemera</span>
        <nav aria-label="Console">
          <ul>
            {PAGES.map(([id, label]) => (
              <li key={id}>
                <a href={`#/${id}`} aria-current={current === id ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {session.identity.id}
          {session.identity.admin ? " (admin)" : ""}
        </span>
        <button
          type="button"
          onClick={async () => {
            const logoutUrl = await api.signOut().catch(() => null);
            // Signed in through the provider: end its session too (RP-initiated logout), which sends the browser back.
            if (logoutUrl) location.assign(logoutUrl);
            else setSession(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main">
        <Page key={hash} hash={hash} session={session} />
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
