// The Fastify instance type every part of the HTTP layer registers on: its own file, so a route or a guard can name it
// without importing the server that registers them.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import type { Logger } from "../support/index.js";

export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger, TypeBoxTypeProvider>;
