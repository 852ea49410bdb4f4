package erasured

import _ "embed"

// The schemas live beside go.mod, where operators look for them, and Go embeds files only
// from a package's own directory; storage reads them from here.
var (
	//go:embed schema.sql
	PostgresSchema string
	//go:embed schema_sqlite.sql
	SQLiteSchema string
)
