#!/usr/bin/env node
import { Command } from "commander";
import { VERSION } from "../version.js";

const program = new Command("mcp-manager").description("Start, stop and inspect shared MCP daemons").version(VERSION);
program.parse();
