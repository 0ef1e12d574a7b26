"""Demo rows of the omnichannel app, added when ``seed_demo`` sends ``demo_seeded``.

Small on purpose: a queue per channel, pause and contact reasons, a bot menu
for the site's live chat and a handful of conversations in every state, all
written through the real operations (so tickets, events and loads agree).
"""

from django.contrib.auth import get_user_model

from omnichannel import services, tagging
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
    Tag,
)
from tickets.models import Company, Customer, Process, Team

User = get_user_model()

PAUSE_REASONS = ["Almoço", "Banheiro", "Descanso", "Feedback", "Treinamento"]
CONTACT_REASONS = [
    "Sem conexão", "Lentidão", "Segunda via de boleto", "Negociação de débito",
    "Mudança de plano", "Cancelamento", "Dúvida comercial", "Outros",
]
# Etiquetas: name, colour.
TAGS = [("Cliente VIP", "#b8860b"), ("Reclamação", "#c0392b"), ("Retenção", "#8e44ad"), ("Visita técnica", "#2e86c1")]
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
    create_canned_responses()  # idempotent on its own: also fills a database seeded before it existed
    if not Queue.objects.exists():  # seeded before: keep what is there
        queues = create_configuration()
        if queues:
            create_conversations(queues)
    create_channel_accounts()


def create_configuration() -> dict[str, Queue]:
    for order, name in enumerate(PAUSE_REASONS):
        PauseReason.objects.get_or_create(name=name, defaults={"order": order})
    reasons = [ContactReason.objects.get_or_create(name=name)[0] for name in CONTACT_REASONS]
    for name, color in TAGS:
        Tag.objects.get_or_create(name=name, defaults={"color": color})
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
    tags = {t.name: t for t in Tag.objects.all()}
    tagging.conversation_set_tags(actor=done.agent, conversation=done, tags=[tags["Visita técnica"]])
    vip = conversations[1]
    vip.refresh_from_db()
    tagging.conversation_set_tags(actor=vip.agent, conversation=vip, tags=[tags["Cliente VIP"], tags["Reclamação"]])
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


# Mensagens pré-salvas: category, shortcut, title, text; public ones by the supervisor, personal by agente.
CANNED_CATEGORIES = ["Saudação", "Suporte técnico", "Financeiro", "Encerramento"]
CANNED_PUBLIC = [
    ("Saudação", "ola", "Saudação inicial", "Olá! Sou da Fibra Viva e vou cuidar do seu atendimento. Como posso ajudar?"),
    ("Suporte técnico", "reiniciar", "Reiniciar o modem",
     "Por favor, desligue o modem da tomada, aguarde 30 segundos e ligue de novo. Me avise quando as luzes estabilizarem."),
    ("Suporte técnico", "visita", "Agendar visita técnica",
     "Vou abrir uma ordem de serviço para a visita de um técnico. Qual o melhor período: manhã ou tarde?"),
    ("Financeiro", "boleto", "Segunda via de boleto",
     "A segunda via do boleto está disponível na Central do Assinante, em Financeiro > Boletos. Posso enviar por aqui também."),
    ("Encerramento", "encerrar", "Encerramento",
     "Posso ajudar em algo mais? Obrigado pelo contato, tenha um ótimo dia!"),
]
CANNED_PERSONAL = [
    ("Saudação", "bomdia", "Bom dia (pessoal)", "Bom dia! Aqui é a Ana, do suporte. Em que posso ajudar hoje?"),
    ("Suporte técnico", "sinal", "Verificar sinal", "Estou verificando o sinal da sua conexão, só um instante."),
]


def create_canned_responses() -> None:
    from omnichannel import canned
    from omnichannel.models import CannedCategory, CannedResponse

    supervisor = User.objects.filter(username="supervisor").first()
    agent = User.objects.filter(username="agente").first()
    if supervisor is None or agent is None:
        return
    categories = {
        name: CannedCategory.objects.get_or_create(name=name, defaults={"order": order})[0]
        for order, name in enumerate(CANNED_CATEGORIES)
    }
    for rows, owner, public in ((CANNED_PUBLIC, supervisor, True), (CANNED_PERSONAL, agent, False)):
        taken = CannedResponse.objects.filter(owner=None if public else owner)
        taken = set(taken.values_list("shortcut", flat=True))
        for category, shortcut, title, body in rows:
            if shortcut not in taken:
                canned.canned_create(
                    owner, category=categories[category], shortcut=shortcut, title=title, body=body, public=public
                )


# Provider accounts without credentials: their webhooks answer (signature secrets are set) and
# replies are recorded as "não enviada" until an admin fills in the provider's tokens.
CHANNEL_ACCOUNTS = [
    ("WhatsApp Fibra Viva", Channel.WHATSAPP, "Suporte - WhatsApp", "100200300400500"),
    ("Telegram @FibraVivaBot", Channel.TELEGRAM, "Suporte - Telegram", ""),
    ("Facebook Fibra Viva", Channel.FACEBOOK, "Comercial - Facebook", "200300400500600"),
    ("Instagram @fibraviva", Channel.INSTAGRAM, "Comercial - Instagram", "300400500600700"),
    ("E-mail atendimento@fibraviva.com.br", Channel.EMAIL, "Atendimento - E-mail", ""),
    ("PABX Central", Channel.VOICE, "Central telefônica", ""),
]


def create_channel_accounts() -> None:
    """One account per provider channel (idempotent by name)."""
    import secrets

    from omnichannel.models import ChannelAccount

    queues = {q.name: q for q in Queue.objects.filter(name__in=[a[2] for a in CHANNEL_ACCOUNTS])}
    for name, channel, queue_name, external_id in CHANNEL_ACCOUNTS:
        if queue_name not in queues or ChannelAccount.objects.filter(name=name).exists():
            continue
        ChannelAccount.objects.create(
            name=name,
            channel=channel,
            queue=queues[queue_name],
            external_id=external_id,
            app_secret=secrets.token_hex(16) if channel in (Channel.WHATSAPP, Channel.FACEBOOK, Channel.INSTAGRAM) else "",
            verify_token=secrets.token_urlsafe(12),
            webhook_secret=secrets.token_urlsafe(24),
            email_address="atendimento@fibraviva.com.br" if channel == Channel.EMAIL else "",
        )
