import { sharingSuite } from "./helpers/sharing-suite.js";

sharingSuite("session socket");
