import { sharingSuite } from "./helpers/sharing-suite.js";

sharingSuite("HTTP");
