"""The pre-commercial managed services: Vercel (web), Render (API), Supabase (PostgreSQL)."""
