// Last line of defence: a screen that throws while rendering shows what happened and a way on,
// instead of leaving a blank page.
import { Component, type ErrorInfo, type ReactNode } from "react";

interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error("screen failed", error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div role="alert" className="mx-auto max-w-lg space-y-3 p-6">
        <h1 className="text-lg font-semibold">This screen failed</h1>
        <p className="text-sm">{this.state.error.message}</p>
        <button type="button" className="rounded-md bg-indigo-600 px-3 py-2 text-sm text-white" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
