// lead_scoring.refresh (src/pg/refresh.cpp): what _PG_init needs of it.
#pragma once

namespace ls::pg {
// Defines lead_scoring.log_retention and lead_scoring.leaderboard_size.
void refresh_init();
}  // namespace ls::pg
