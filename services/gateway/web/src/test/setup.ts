// Testing Library matchers and a clean DOM between tests.
import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// findBy*/waitFor wait up to 5 s: a busy shared machine renders slowly; nothing here measures speed.
configure({ asyncUtilTimeout: 5000 });
afterEach(() => cleanup());
