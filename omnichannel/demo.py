"""Demo rows of the omnichannel app, added when ``seed_demo`` sends ``demo_seeded``.

Small on purpose: a queue per channel, pause and contact reasons, a bot menu
for the site's live chat and a handful of conversations in every state, all
written through the real operations (so tickets, events and loads agree).
"""

from django.contrib.auth import get_user_model

from omnichannel import services
from omnichannel.models import (
    AgentQueue,
    AgentState,
    BotMenu,
    BotOption,
    Channel,
    ContactReason,
    Conversation,
    PauseReason,
    Queue,
)
from tickets.models import Company, Customer, Process, Team

User = get_user_model()

PAUSE_REASONS = ["Almoço", "Banheiro", "Descanso", "Feedback", "Treinamento"]
CONTACT_REASONS = [
    "Sem conexão", "Lentidão", "Segunda via de boleto", "Negociação de débito",
    "Mudança de plano", "Cancelamento", "Dúvida comercial", "Outros",
]
# name, channel, team, process, max conversations, wrap-up seconds
QUEUES = [
    ("Suporte - Chat", Channel.LIVE_CHAT, "Suporte N1", "Suporte Técnico", 3, 0),
    ("Financeiro - Chat", Channel.LIVE_CHAT, "Financeiro", "Financeiro", 3, 0),
    ("Suporte - WhatsApp", Channel.WHATSAPP, "Suporte N1", "Suporte Técnico", 4, 0),
    ("Suporte - Telegram", Channel.TELEGRAM, "Suporte N1", "Suporte Técnico", 3, 0),
    ("Comercial - Facebook", Channel.FACEBOOK, "Comercial e Retenção", "Comercial", 3, 0),
    ("Comercial - Instagram", Channel.INSTAGRAM, "Comercial e Retenção", "Comercial", 3, 0),
    ("Atendimento - E-mail", Channel.EMAIL, "Suporte N2", "Suporte Técnico", 5, 0),
    ("Cobrança - SMS", Channel.SMS, "Financeiro", "Financeiro", 5, 0),
    ("Central telefônica", Channel.VOICE, "Suporte N1", "Suporte Técnico", 1, 30),
]


def on_demo_seeded(sender, result, **kwargs) -> None:
    if Queue.objects.exists():
        return  # seeded before: keep what is there
    queues = create_configuration()
    if queues:
        create_conversations(queues)


def create_configuration() -> dict[str, Queue]:
    for order, name in enumerate(PAUSE_REASONS):
        PauseReason.objects.get_or_create(name=name, defaults={"order": order})
    reasons = [ContactReason.objects.get_or_create(name=name)[0] for name in CONTACT_REASONS]
    company = Company.objects.order_by("pk").first()
    teams = {t.name: t for t in Team.objects.all()}
    processes = {p.name: p for p in Process.objects.all()}
    if company is None:
        return {}
    queues: dict[str, Queue] = {}
    for name, channel, team_name, process_name, max_conversations, wrap_up in QUEUES:
        team = teams.get(team_name)
        process = processes.get(process_name) or next(iter(processes.values()), None)
        if team is None or process is None:
            continue
        queue = Queue.objects.create(
            name=name,
            channel=channel,
            team=team,
            company=company,
            process=process,
            max_conversations=max_conversations,
            wrap_up_seconds=wrap_up,
        )
        queue.contact_reasons.set(reasons)
        AgentQueue.objects.bulk_create(AgentQueue(agent=member, queue=queue) for member in team.members.all())
        queues[name] = queue
    if "Suporte - Chat" in queues and "Financeiro - Chat" in queues:
        root = BotMenu.objects.create(
            name="Site - menu inicial",
            entry_point="site",
            greeting="Olá! Bem-vindo(a) ao atendimento da Fibra Viva. Escolha uma opção:",
        )
        finance = BotMenu.objects.create(name="Site - financeiro", greeting="Financeiro: escolha uma opção:")
        BotOption.objects.create(menu=root, number=1, label="Suporte técnico", queue=queues["Suporte - Chat"])
        BotOption.objects.create(menu=root, number=2, label="Financeiro", submenu=finance)
        BotOption.objects.create(menu=finance, number=1, label="Segunda via de boleto", queue=queues["Financeiro - Chat"])
        BotOption.objects.create(menu=finance, number=2, label="Outros assuntos", queue=queues["Financeiro - Chat"])
    return queues


def create_conversations(queues: dict[str, Queue]) -> None:
    agents = {u.username: u for u in User.objects.filter(username__in=["agente", "agente2", "agente3"])}
    customers = list(Customer.objects.order_by("pk")[:8])
    chat = queues.get("Suporte - Chat")
    if chat is None or len(agents) < 3 or len(customers) < 8:
        return
    lunch = PauseReason.objects.get(name="Almoço")
    # agente and agente2 take chats; agente3 is at lunch.
    for username in ("agente", "agente2", "agente3"):
        services.agent_set_state(actor=agents[username], agent=agents[username], state=AgentState.ONLINE)
    services.agent_set_state(actor=agents["agente3"], agent=agents["agente3"], state=AgentState.AWAY, pause_reason=lunch)

    def start(customer: Customer, text: str, *, entry_point: str | None = None) -> Conversation:
        # Contacts as the widget sees them before identification: no document, an e-mail of
        # their own. No ticket is opened, so the seeded tickets, counters and events stay as
        # the tickets app wrote them; an agent links the customer to open or join one.
        return services.conversation_start(
            channel=Channel.LIVE_CHAT,
            contact_name=customer.name,
            contact_email=f"contato.{customer.pk}@example.net",
            entry_point=entry_point,
            queue=None if entry_point else chat,
            first_message=text,
        )

    texts = [
        "Boa tarde, estou sem internet desde cedo.",
        "A internet está muito lenta à noite.",
        "O roteador está com a luz vermelha piscando.",
        "Minha conexão cai toda hora.",
        "Preciso de ajuda com o Wi-Fi.",
        "Estou sem sinal na TV e na internet.",
        "Oi, quero saber do meu boleto.",
    ]
    conversations = [start(customers[i], texts[i]) for i in range(6)]
    # Six chats, capacity 3 each for two agents: all in progress, balanced.
    for conversation in conversations[:4]:
        conversation.refresh_from_db()
        services.conversation_reply(
            actor=conversation.agent, conversation=conversation, body="Olá! Vou verificar sua conexão, um momento."
        )
    done = conversations[0]
    done.refresh_from_db()
    services.conversation_customer_message(conversation=done, body="Voltou a funcionar, obrigado!")
    services.conversation_finish(
        actor=done.agent,
        conversation=done,
        contact_reason=ContactReason.objects.get(name="Sem conexão"),
        notes="ONU reiniciada remotamente; conexão normalizada.",
    )
    # One more chat: it takes the slot just freed; then one waits in the queue and one is in the bot.
    start(customers[6], "Minha internet não conecta no celular.")
    start(customers[7], "Ainda aguardo retorno sobre a lentidão.")
    bot = start(customers[5], texts[6], entry_point="site")
    services.conversation_customer_message(conversation=bot, body="2")
