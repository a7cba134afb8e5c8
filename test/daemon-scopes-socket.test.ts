import { scopeSuite } from "./helpers/sharing-suite.js";

scopeSuite("session socket");
