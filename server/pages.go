package server

// pageRoutes lists the HTML pages' routes.
func (s *Server) pageRoutes() []route { return nil }
