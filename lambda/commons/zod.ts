/**
 * The one zod entry point of the functions: `zod/mini`, with zod's English
 * messages switched on.
 *
 * zod classic costs every cold start ~0.2× the SDK-only init just for V8 to
 * parse its ~450 KB, even when no schema runs (BENCHMARKS.md, figure 1); the
 * mini build shares its core (same checks, same issues) at a fraction of the
 * size, so schemas under lambda/ import zod from here, never zod's classic entry.
 *
 * Mini ships without a locale: every default message would read "Invalid
 * input". Classic installs the English locale when it loads; doing the same
 * here keeps every message the schemas do not word themselves (e.g. "Too
 * small: expected string to have >=1 characters") exactly as it was. Only
 * `en` is imported by name, so a bundle carries that one locale, not all.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());

// Re-exported name by name, never as one namespace object: a namespace that
// escapes keeps all of zod (every locale, JSON Schema, compile) in the bundle.
// Import it as `import * as z from '../commons/zod'`.
export * from 'zod/mini';
