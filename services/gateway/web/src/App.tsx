// Routes of the staff app. Analytics (with the charting library) is loaded on demand.
import { lazy, Suspense } from "react";
import { Route, Routes } from "react-router";
import { HomeRedirect, RequireRole, RequireSession } from "./components/Guards";
import { Layout } from "./components/Layout";
import { Loading } from "./components/ui";
import { ApiKeysPage } from "./pages/admin/ApiKeys";
import { AuditPage } from "./pages/admin/Audit";
import { UsersPage } from "./pages/admin/Users";
import { AcceptInvitationPage, LoginPage, RegisterPage } from "./pages/AuthPages";
import { ChatPage } from "./pages/Chat";
import { KnowledgeBaseDetailPage } from "./pages/KnowledgeBaseDetail";
import { KnowledgeBasesPage } from "./pages/KnowledgeBases";
import { NewCrawlPage } from "./pages/NewCrawl";

const AnalyticsPage = lazy(() => import("./pages/Analytics"));

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/register" element={<RegisterPage />} />
      <Route path="/invite" element={<AcceptInvitationPage />} />
      <Route
        element={
          <RequireSession>
            <Layout />
          </RequireSession>
        }
      >
        <Route index element={<HomeRedirect />} />
        <Route path="chat/:conversationId?" element={<ChatPage />} />
        <Route path="knowledge-bases" element={<RequireRole screen="knowledge-bases"><KnowledgeBasesPage /></RequireRole>} />
        <Route path="knowledge-bases/:kbId" element={<RequireRole screen="knowledge-bases"><KnowledgeBaseDetailPage /></RequireRole>} />
        <Route path="knowledge-bases/:kbId/crawl" element={<RequireRole screen="kb-write"><NewCrawlPage /></RequireRole>} />
        <Route
          path="analytics"
          element={
            <RequireRole screen="analytics">
              <Suspense fallback={<Loading />}>
                <AnalyticsPage />
              </Suspense>
            </RequireRole>
          }
        />
        <Route path="admin/users" element={<RequireRole screen="admin"><UsersPage /></RequireRole>} />
        <Route path="admin/api-keys" element={<RequireRole screen="admin"><ApiKeysPage /></RequireRole>} />
        <Route path="admin/audit" element={<RequireRole screen="admin"><AuditPage /></RequireRole>} />
        <Route path="*" element={<p>Page not found.</p>} />
      </Route>
    </Routes>
  );
}
