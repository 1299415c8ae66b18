import { Toast } from 'radix-ui';
import { createContext, useCallback, useContext, useState, type ReactNode } from 'react';

interface ToastMessage {
  id: number;
  title: string;
  description?: string;
  tone: 'info' | 'error';
}

type Notify = (message: Omit<ToastMessage, 'id' | 'tone'> & { tone?: ToastMessage['tone'] }) => void;

const ToastContext = createContext<Notify>(() => undefined);

/** Short notices ("Key revoked"), announced to screen readers; errors stay until dismissed. */
export function useToast(): Notify {
  return useContext(ToastContext);
}

let nextId = 1;

export function Toaster({ children }: { children: ReactNode }) {
  const [messages, setMessages] = useState<ToastMessage[]>([]);
  const notify = useCallback<Notify>((message) => {
    setMessages((list) => [...list.slice(-3), { tone: 'info', ...message, id: nextId++ }]);
  }, []);
  const remove = (id: number) => setMessages((list) => list.filter((m) => m.id !== id));
  return (
    <ToastContext.Provider value={notify}>
      <Toast.Provider swipeDirection="right">
        {children}
        {messages.map((m) => (
          <Toast.Root
            key={m.id}
            className={m.tone === 'error' ? 'toast toast-error' : 'toast'}
            duration={m.tone === 'error' ? 60_000 : 5_000}
            onOpenChange={(open) => !open && remove(m.id)}
          >
            <Toast.Title className="toast-title">{m.title}</Toast.Title>
            {m.description && <Toast.Description>{m.description}</Toast.Description>}
            <Toast.Close className="btn btn-ghost btn-small" aria-label="Dismiss">
              Dismiss
            </Toast.Close>
          </Toast.Root>
        ))}
        <Toast.Viewport className="toast-viewport" />
      </Toast.Provider>
    </ToastContext.Provider>
  );
}
