// Unmount what each component test rendered (the library's automatic cleanup needs vitest globals).
import { cleanup } from '@solidjs/testing-library';
import { afterEach } from 'vitest';

afterEach(cleanup);
