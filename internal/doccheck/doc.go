// Package doccheck holds no code: its test walks every package of the
// module (except commands and test files) and fails, listing each one, when
// an exported identifier has no doc comment or a comment that does not start
// with the identifier's name. Run it with
//
//	go test ./internal/doccheck
package doccheck
