#!/usr/bin/env node
import { startEarly } from "../dist/bundle/early-start.js";

startEarly(process.argv);
const { main } = await import("../dist/bundle/cli.js");
await main(process.argv);
