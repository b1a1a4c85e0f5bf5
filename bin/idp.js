#!/usr/bin/env node
// Node 24 strips the types from the TypeScript sources it imports (outside node_modules).
import '../src/cli/main.ts';
