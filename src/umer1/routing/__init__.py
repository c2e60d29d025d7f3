"""Per-query routing between UME-R1's two embeddings: answer from the disc ranking, or reason
first (gen mode) where a router expects it to pay. Routers (`routers`), the learned gate
(`gate`), routed retrieval of a query batch (`route`) and cost-quality curves (`curves`).
Layer 2: imports the engine and utils only."""
from umer1.routing.curves import bootstrap_se, curve, first_reaching, oracle_curve, order_by
from umer1.routing.features import STATS, TOP_K, gate_features, score_stats
from umer1.routing.gate import Gate, GateConfig, check_threshold, fit_gate
from umer1.routing.route import Routed, corpus_modes, route_queries, route_query
from umer1.routing.routers import Always, GateRouter, MarginRule, Router, parse_router

__all__ = ["Always", "GateRouter", "MarginRule", "Router", "parse_router", "Gate", "GateConfig",
           "fit_gate", "check_threshold", "Routed", "corpus_modes", "route_queries", "route_query",
           "curve", "oracle_curve", "order_by", "bootstrap_se", "first_reaching", "STATS", "TOP_K",
           "gate_features", "score_stats"]
