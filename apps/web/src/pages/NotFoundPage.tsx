import { navigate, type RouteProps } from '../router.ts';

export default function NotFoundPage(_props: RouteProps) {
  return (
    <main className="center-page">
      <div className="card">
        <h1>Page not found</h1>
        <button className="btn primary" onClick={() => navigate('/')}>
          Go to the start page
        </button>
      </div>
    </main>
  );
}
