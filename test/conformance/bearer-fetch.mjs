// What an HTTP client configured with headers does: every request the conformance CLI makes (through fetch or
// undici's request, which share undici's global dispatcher) carries the home's token from MSM_CONFORMANCE_BEARER
// as a bearer. Registered with `node --import`.
import { Agent, setGlobalDispatcher } from "undici";

const bearer = process.env.MSM_CONFORMANCE_BEARER;
if (bearer) {
  setGlobalDispatcher(
    new Agent().compose((dispatch) => (options, handler) => {
      const headers = Array.isArray(options.headers)
        ? Object.fromEntries(
            Array.from({ length: options.headers.length / 2 }, (_, i) => [options.headers[2 * i], options.headers[2 * i + 1]]),
          )
        : { ...(options.headers ?? {}) };
      headers.authorization = `Bearer ${bearer}`;
      return dispatch({ ...options, headers }, handler);
    }),
  );
}
