// Tabs shared by the admin screens.
import { NavLink } from "react-router";

const TABS = [
  { to: "/admin/users", label: "Users and invitations", testId: "admin-tab-users" },
  { to: "/admin/api-keys", label: "API keys", testId: "admin-tab-api-keys" },
  { to: "/admin/audit", label: "Audit log", testId: "admin-tab-audit" },
];

export function AdminTabs() {
  return (
    <nav aria-label="Administration" className="mb-4 flex flex-wrap gap-1 border-b border-slate-200 dark:border-slate-800">
      {TABS.map((tab) => (
        <NavLink
          key={tab.to}
          to={tab.to}
          data-testid={tab.testId}
          className={({ isActive }) =>
            `-mb-px border-b-2 px-3 py-2 text-sm ${isActive ? "border-indigo-600 font-medium text-indigo-700 dark:text-indigo-300" : "border-transparent text-slate-600 hover:text-slate-900 dark:text-slate-300"}`
          }
        >
          {tab.label}
        </NavLink>
      ))}
    </nav>
  );
}
