import solid from 'vite-plugin-solid';
import { defineProject } from 'vitest/config';

// Component tests: Solid's JSX transform and a DOM (jsdom), separate from the Node project of the server.
export default defineProject({
  plugins: [solid()],
  resolve: { conditions: ['development', 'browser'] },
  test: {
    name: 'dashboard',
    root: import.meta.dirname,
    include: ['src/**/*.test.{ts,tsx}'],
    environment: 'jsdom',
    setupFiles: ['src/test-setup.ts'],
  },
});
